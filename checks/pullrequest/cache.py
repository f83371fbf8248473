"""A folder of migrated base databases, as pg_dump files, kept between CI runs.

An entry is `base-<key>.dump` with a `base-<key>.json` beside it. The key is a sha256 over
everything the base database is made of: each base revision file's content, env.py, the
settings that act before the first revision (extensions, bootstrap), the PostgreSQL major,
and the suite's and Alembic's versions. The sidecar repeats the full key and the dump's own
sha256, so an entry whose name matches but whose content does not (a truncated upload, a
hand-copied file) is dropped with a warning instead of trusted. The folder keeps the newest
few entries; a restore counts as use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import alembic
from alembic.script import Script

from checks.lockfile import checksum
from checks.project.project import Project
from checks.pullrequest.scope import Trust, parents
from checks.recovery.backup import endpoint_args, endpoint_environment
from harness.client_tools import ClientTool, client_tool, recorded_tool
from harness.errors import HarnessError
from harness.server import Server

KEEP = 4  # entries; a CI cache holds the base of a few target branches
FORMAT = 2  # bump when what a dump holds changes
# An extension's comment is its owner's to set (a superuser's, often): left out. The
# extensions themselves are kept (pg_dump writes CREATE EXTENSION IF NOT EXISTS): those a
# migration created are needed by what uses them, those from the settings exist already.
_EXTENSION_ENTRY = re.compile(r"^\d+; \d+ \d+ COMMENT - EXTENSION ")


def _suite_version() -> str:
    try:
        return metadata.version("alembic-verify")
    except metadata.PackageNotFoundError:
        return "unknown"


def cache_key(project: Project, base: list[Script], server_major: int) -> str:
    digest = hashlib.sha256()
    settings = project.settings
    env_py = Path(project.script.dir) / "env.py"
    parts = [f"format {FORMAT}", f"alembic-verify {_suite_version()}", f"alembic {alembic.__version__}",
             f"postgresql {server_major}", f"env.py {checksum(env_py) if env_py.is_file() else '-'}",
             f"extensions {sorted(settings.extensions)}", f"bootstrap {settings.bootstrap}"]
    parts += [f"{script.revision} {checksum(Path(script.path))}" for script in base]
    digest.update("\n".join(parts).encode())
    return digest.hexdigest()


def _file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class BaseCache:
    def __init__(self, folder: Path, keep: int = KEEP) -> None:
        self.folder = folder
        self.keep = keep

    def _paths(self, key: str) -> tuple[Path, Path]:
        stem = self.folder / f"base-{key[:32]}"
        return stem.with_suffix(".dump"), stem.with_suffix(".json")

    # --- reading ----------------------------------------------------------------
    def restore(self, key: str, server: Server, database: str, trust: Trust) -> bool:
        """Restore the entry for `key` into the empty `database`; False (with a warning in
        `trust`) when there is none or it cannot be trusted."""
        dump, sidecar = self._paths(key)
        if not sidecar.exists() and not dump.exists():
            return False
        problem = self._damage(key, dump, sidecar)
        if problem is None:
            problem = self._pg_restore(dump, server, database, json.loads(sidecar.read_text()))
        if problem is not None:
            trust.warnings.append(f"cache entry {dump.name} ignored: {problem}; the base was applied "
                                  "from its revisions instead")
            self._forget(dump, sidecar)
            return False
        with contextlib.suppress(OSError):
            os.utime(sidecar)
        return True

    def _damage(self, key: str, dump: Path, sidecar: Path) -> str | None:
        try:
            info = json.loads(sidecar.read_text())
        except (OSError, ValueError) as exc:
            return f"its description {sidecar.name} is unreadable ({type(exc).__name__})"
        if not isinstance(info, dict) or info.get("key") != key:
            return f"{sidecar.name} describes another base (key mismatch)"
        if "TABLE DATA" not in str(info.get("restore_list")):
            return f"{sidecar.name} lacks the dump's table of contents (the version table's rows at least)"
        if not dump.is_file():
            return "the dump file is missing"
        if _file_sha(dump) != info.get("sha256"):
            return "the dump's checksum does not match its description (truncated or altered)"
        return None

    def _pg_restore(self, dump: Path, server: Server, database: str, info: dict) -> str | None:
        ep = server.endpoint
        needed = max(server.major, int(info.get("pg_dump_major") or 0))
        try:
            tool = recorded_tool(info.get("pg_restore"), needed) or client_tool("pg_restore", needed)
        except HarnessError as exc:
            return str(exc)
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as chosen:
            chosen.write(str(info.get("restore_list") or ""))
        try:
            proc = subprocess.run(
                [tool.path, "--single-transaction", "--exit-on-error", "--no-owner", "--use-list",
                 chosen.name, *endpoint_args(ep), "--dbname", database, str(dump)],
                env=endpoint_environment(ep), capture_output=True, text=True, errors="replace")
        finally:
            os.unlink(chosen.name)
        if proc.returncode != 0:
            return f"pg_restore cannot restore it ({_tail(proc.stderr)})"
        return None

    @staticmethod
    def _restore_list(dump: Path, tool: ClientTool) -> str:
        """The dump's table of contents less its extensions' comments (see _EXTENSION_ENTRY);
        read once, when the entry is written."""
        listing = subprocess.run([tool.path, "--list", str(dump)], capture_output=True, text=True,
                                 errors="replace")
        if listing.returncode != 0:
            raise OSError(f"pg_restore --list cannot read the new dump ({_tail(listing.stderr)})")
        kept = [line for line in listing.stdout.splitlines() if not _EXTENSION_ENTRY.match(line)]
        return "".join(line + "\n" for line in kept)

    # --- writing ----------------------------------------------------------------
    def store(self, key: str, server: Server, database: str, base: list[Script], trust: Trust) -> None:
        """Dump the migrated base; a failure is a warning, never the run's failure."""
        dump, sidecar = self._paths(key)
        partial = dump.with_name(f".{dump.name}.{os.getpid()}.partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tool = client_tool("pg_dump", server.major)
            proc = subprocess.run([tool.path, "--format=custom", "--file", str(partial),
                                   *endpoint_args(server.endpoint), "--dbname", database],
                                  env=endpoint_environment(server.endpoint), capture_output=True, text=True,
                                  errors="replace")
            if proc.returncode != 0:
                partial.unlink(missing_ok=True)
                trust.warnings.append(f"the base was not cached: pg_dump failed ({_tail(proc.stderr)})")
                return
            restore = client_tool("pg_restore", tool.major)
            info = {"key": key, "sha256": _file_sha(partial), "pg_dump_major": tool.major,
                    "restore_list": self._restore_list(partial, restore), "pg_restore": restore.record(),
                    "server_version": server.version, "base_revisions": len(base),
                    "base_heads": _heads(base), "created": datetime.now(UTC).isoformat(timespec="seconds")}
            # Dump first, description last, each renamed into place: a reader never trusts a
            # description whose dump is still being written (a parallel job, a killed one).
            os.replace(partial, dump)
            partial.write_text(json.dumps(info, indent=2) + "\n")
            os.replace(partial, sidecar)
        except (OSError, HarnessError) as exc:
            partial.unlink(missing_ok=True)
            trust.warnings.append(f"the base was not cached in {self.folder}: {exc}")
            return
        trust.stored = True
        self.prune()

    def prune(self) -> None:
        """Keep the newest `keep` entries; drop the rest and anything half-written."""
        entries = sorted(self.folder.glob("base-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for sidecar in entries[self.keep:]:
            self._forget(sidecar.with_suffix(".dump"), sidecar)
        for dump in self.folder.glob("base-*.dump"):
            if not dump.with_suffix(".json").exists():
                dump.unlink(missing_ok=True)
        for partial in self.folder.glob(".base-*.partial"):
            with contextlib.suppress(OSError):
                if partial.stat().st_mtime < datetime.now().timestamp() - 3600:
                    partial.unlink()

    @staticmethod
    def _forget(dump: Path, sidecar: Path) -> None:
        for path in (dump, sidecar):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _heads(base: list[Script]) -> list[str]:
    below = {p for script in base for p in parents(script)}
    return sorted(s.revision for s in base if s.revision not in below)


def _tail(stderr: str) -> str:
    return " | ".join(stderr.strip().splitlines()[-3:]) or "no message"
