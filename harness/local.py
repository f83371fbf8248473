"""The `local` backend: a private PostgreSQL server from binaries on this machine.

Each server gets its own temporary data directory, a free port on 127.0.0.1 and a
unix socket, with durability switched off: the data is thrown away anyway. initdb is
slow, so one initdb'd cluster per installation is cached and copied for each run.
Clusters are stamped with their owner; each start first removes those of killed runs
(harness/local_clusters.py).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from harness.binaries import Installation, find_installation
from harness.errors import ServerError
from harness.local_clusters import new_cluster_folder, reachable_base, remove_orphaned_clusters
from harness.server import Endpoint, Server

USER = "verify"
PASSWORD = "verify"
PORT_ATTEMPTS = 3
READY_TIMEOUT_S = 30.0
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "alembic-preflight"

# Throwaway data: trading crash safety for speed is the whole point.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "listen_addresses": "127.0.0.1",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_account() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root; as root, run it as an unprivileged account."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise ServerError("running as root and no unprivileged 'postgres' or 'nobody' account exists "
                      "to run PostgreSQL; create one (useradd postgres) or run as another user")


def _demote(account: pwd.struct_passwd | None):
    if account is None:
        return None

    def switch_user() -> None:
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    return switch_user


def _chown_tree(path: Path, account: pwd.struct_passwd | None) -> None:
    if account is None:
        return
    for root, _dirs, files in os.walk(path):
        os.chown(root, account.pw_uid, account.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), account.pw_uid, account.pw_gid, follow_symlinks=False)


def _run_as(cmd: list[str], account: pwd.struct_passwd | None, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=_demote(account))
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise ServerError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n    {tail}")


def reachable_installation(inst: Installation, account: pwd.struct_passwd | None) -> Installation:
    """The installation itself, or a copy the unprivileged account can run.

    A server wheel pip-installed by root lives under root's home, which other accounts
    cannot enter; a copy in the shared cache (made once per version) can be run.
    """
    if account is None or _runs_as(inst, account):
        return inst
    # bin/, lib/ and share/ travel together, and a wheel's binaries find their vendored
    # libraries through a relative rpath ($ORIGIN/../../../<package>.libs): keep the layout.
    root = inst.bindir.parent
    package = root.parent
    target = reachable_base(account) / "alembic-preflight-installs" / f"{inst.version}-{root.name}"
    if not (target / package.name / root.name / "bin" / "postgres").is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(target.parent, 0o755)
        libs = package.parent / f"{package.name}.libs"
        copies = {root: Path(package.name, root.name)} | ({libs: Path(libs.name)} if libs.is_dir() else {})
        _publish(copies, target)
    copy = Installation(target / package.name / root.name / "bin", inst.version,
                        f"{inst.origin}, copied for {account.pw_name}")
    if not _runs_as(copy, account):
        raise ServerError(f"the {account.pw_name!r} account cannot run PostgreSQL from {inst.bindir} "
                          f"nor from a copy in {target}; run the suite as a non-root user")
    return copy


def _publish(copies: dict[Path, Path], target: Path) -> None:
    """Copy each source to its place under `target`, which appears whole or not at all.

    Concurrent runs may publish the same target; the first rename wins and the others use
    it. Folders are left world-readable so the unprivileged account can reach them.
    """
    incoming = Path(tempfile.mkdtemp(prefix="incoming-", dir=target.parent))
    try:
        staged = incoming / "staged"
        for source, place in copies.items():
            shutil.copytree(source, staged / place, symlinks=True)
        # Only the folders above the copies; the copied trees keep their own modes.
        for folder in {staged} | {staged / parent for place in copies.values() for parent in place.parents}:
            os.chmod(folder, 0o755)
        with contextlib.suppress(OSError):
            os.rename(staged, target)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _runs_as(inst: Installation, account: pwd.struct_passwd) -> bool:
    try:
        return subprocess.run([inst.tool("postgres"), "--version"], capture_output=True,
                              preexec_fn=_demote(account), timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def cached_cluster(inst: Installation, account: pwd.struct_passwd | None) -> Path:
    """An initdb'd cluster for this installation, made once and reused as a template."""
    owner = account.pw_name if account else str(os.geteuid())
    target = CACHE_ROOT / "clusters" / f"{inst.version}-{owner}"
    if (target / "PG_VERSION").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # initdb runs in a temp folder the unprivileged account can reach (it may not be able
    # to reach the cache under root's home), stamped like a cluster: removed if we are killed.
    staging = new_cluster_folder(account, prefix="initdb-")
    try:
        datadir = staging / "data"
        datadir.mkdir()
        _chown_tree(staging, account)
        _run_as([inst.tool("initdb"), "-D", str(datadir), "-U", USER, "-A", "trust",
                 "-E", "UTF8", "--locale=C", "--no-sync"], account, "initdb")
        _publish({datadir: Path()}, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class LocalServer(Server):
    backend = "local"
    disposable = True  # its cluster folder is removed when it stops

    def __init__(self, major: int | None = None) -> None:
        super().__init__()
        self.installation = find_installation(major)
        self._account = _service_account()
        self._workdir: Path | None = None
        self._process: subprocess.Popen | None = None
        self._port = 0

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint("127.0.0.1", self._port, USER, PASSWORD)

    def describe(self) -> str:
        return f"local binaries ({self.installation.origin}) on 127.0.0.1:{self._port}"

    def _start(self) -> None:
        remove_orphaned_clusters()
        self.installation = reachable_installation(self.installation, self._account)
        template = cached_cluster(self.installation, self._account)
        self._workdir = new_cluster_folder(self._account)
        datadir = self._workdir / "data"
        shutil.copytree(template, datadir, symlinks=True)
        os.chmod(datadir, 0o700)
        _chown_tree(self._workdir, self._account)
        # A free port can be taken by another program before the server binds it (two test
        # runs side by side start many servers): then the server says so and exits, and a
        # new port is tried.
        for attempt in range(PORT_ATTEMPTS):
            self._port = _free_port()
            self._launch(datadir)
            try:
                self._wait_ready(datadir)
                return
            except ServerError:
                exited = self._process.poll() is not None
                if attempt + 1 == PORT_ATTEMPTS or not exited or "could not bind" not in self._log_tail(40):
                    raise

    def _launch(self, datadir: Path) -> None:
        args = [self.installation.tool("postgres"), "-D", str(datadir), "-p", str(self._port),
                "-k", str(self._workdir)]
        for key, value in SERVER_SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        log = open(self._workdir / "server.log", "wb")  # noqa: SIM115 - kept open by the child
        try:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                             preexec_fn=_demote(self._account), start_new_session=True)
        except OSError as exc:
            raise ServerError(f"cannot start {args[0]}: {exc.strerror}; check the PostgreSQL "
                              "installation, or use --backend compose / --backend url") from None
        finally:
            log.close()

    def _log_tail(self, lines: int = 8) -> str:
        try:
            text = (self._workdir / "server.log").read_text(errors="replace")
        except (OSError, TypeError):
            return ""
        return "\n    ".join(text.strip().splitlines()[-lines:])

    def _wait_ready(self, datadir: Path) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = ""
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(
                    f"local PostgreSQL {self.installation.version} exited during start "
                    f"(exit {self._process.returncode}); server log:\n    {self._log_tail()}")
            try:
                with psycopg.connect(self.endpoint.conninfo("postgres"), connect_timeout=2) as conn:
                    serving = conn.execute("SHOW data_directory").fetchone()[0]
                if os.path.realpath(serving) == os.path.realpath(datadir):
                    return
                # Another server answers on the port this one meant to bind: it will exit.
                last_error = f"another server answers on port {self._port}"
                time.sleep(0.05)
                continue
            except psycopg.OperationalError as exc:
                last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                time.sleep(0.05)
        raise ServerError(
            f"local PostgreSQL did not accept connections on 127.0.0.1:{self._port} within "
            f"{READY_TIMEOUT_S:.0f}s ({last_error}); is the machine overloaded? server log:\n"
            f"    {self._log_tail()}")

    def _stop(self) -> None:
        if self._process and self._process.poll() is None:
            # SIGINT is PostgreSQL's "fast" shutdown: abort sessions, no checkpoint wait.
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
