"""Find the Debian mirror this host already uses, so no mirror is ever hard-coded.

Air-gapped hosts reach Debian through an internal mirror or proxy that apt is
configured for; the image builder must use exactly that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

APT_ROOT = Path("/etc/apt")
# Suites that identify a repository as Debian's own archive (not a vendor's).
DEBIAN_SUITES = {
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
}


@dataclass(frozen=True)
class Mirrors:
    archive: str
    security: str | None


@dataclass(frozen=True)
class _Source:
    uri: str
    suites: tuple[str, ...]


def _one_line_sources(text: str) -> list[_Source]:
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            found.append(_Source(words[0], (words[1],)))
    return found


def _deb822_sources(text: str) -> list[_Source]:
    found = []
    for paragraph in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in paragraph.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        found.extend(_Source(uri, suites) for uri in fields.get("uris", "").split())
    return found


def configured_sources(apt_root: Path = APT_ROOT) -> list[_Source]:
    """Every enabled `deb` source in apt's configuration, in apt's reading order."""
    sources = []
    main = apt_root / "sources.list"
    if main.is_file():
        sources += _one_line_sources(main.read_text(errors="replace"))
    parts = apt_root / "sources.list.d"
    for path in sorted(parts.glob("*")) if parts.is_dir() else []:
        if path.suffix == ".list":
            sources += _one_line_sources(path.read_text(errors="replace"))
        elif path.suffix == ".sources":
            sources += _deb822_sources(path.read_text(errors="replace"))
    return sources


def debian_mirrors(apt_root: Path = APT_ROOT) -> Mirrors:
    """The Debian archive (and security archive, if any) apt on this host uses.

    VERIFY_DEBIAN_MIRROR and VERIFY_DEBIAN_SECURITY_MIRROR override what apt says.
    """
    archive = os.environ.get("VERIFY_DEBIAN_MIRROR")
    security = os.environ.get("VERIFY_DEBIAN_SECURITY_MIRROR")
    for source in configured_sources(apt_root):
        for suite in source.suites:
            codename, _, pocket = suite.partition("-")
            codename = codename.split("/")[0]
            if codename not in DEBIAN_SUITES:
                continue
            if pocket == "security" or suite.endswith("/updates"):
                security = security or source.uri
            elif not pocket:
                archive = archive or source.uri
    if not archive:
        raise HarnessError(
            f"no Debian archive found in {apt_root}/sources.list or {apt_root}/sources.list.d/; "
            "set VERIFY_DEBIAN_MIRROR to the URL of a Debian mirror this host can reach"
        )
    return Mirrors(archive.rstrip("/"), security.rstrip("/") if security else None)
