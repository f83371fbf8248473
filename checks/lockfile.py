"""The lock file: a checksum of every released revision, kept beside the migrations.

A revision that has run somewhere must never change: databases that applied the old text
keep the old schema, and nothing tells them apart from fresh ones. Alembic has no such
guard (Flyway's `validate` does). `python -m checks lock` records each revision file's
checksum in `revisions.lock` in the script directory (where env.py is); the files stage
fails when a locked revision's code differs, naming it and what changed in it.

The checksum is of what the revision does (`checks.lock_code`): its `upgrade()`, its
`downgrade()` and its module-level code, each as a syntax tree, so comments, docstrings and
formatting are free to change. Lock files written before record the file's bytes
(`sha256:`); they are still read, and `lock` rewrites them in the code form.

Squashing history (old revisions replaced by one new base) works: `lock` forgets the
revisions whose files are gone, with a note, and locks the new base; a deliberate edit of a
locked file is accepted with `lock --relock REV`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from checks.errors import ConfigError, shown
from checks.lock_code import PARTS, part_digests
from checks.result import Finding, Severity
from checks.textfile import read_text

LOCK_NAME = "revisions.lock"
HEADER = (
    "# alembic-preflight lock file: the checksum of every released revision's code.\n"
    "# A revision listed here must not change; put changes in a new revision.\n"
    "# Update with `python -m checks lock` (add --relock REV to accept a deliberate edit).\n"
)


@dataclass(frozen=True)
class Entry:
    revision: str
    checksum: str
    file: str  # relative to the lock file's folder, for people reading the lock


def lock_path(script_dir: str | Path) -> Path:
    return Path(script_dir) / LOCK_NAME


def checksum(path: Path) -> str:
    """The file's bytes (line endings normalised, so a Windows checkout is no edit)."""
    data = path.read_bytes().replace(b"\r\n", b"\n")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def code_checksum(path: Path) -> str:
    """`code:` and one digest per part of the revision; the bytes' checksum for a file that
    does not parse (a released revision always did)."""
    digests = part_digests(path.read_bytes())
    if digests is None:
        return checksum(path)
    return "code:" + ",".join(f"{part}={digests[part][:16]}" for part in PARTS)


def changed_parts(entry: Entry, path: Path) -> list[str] | None:
    """What changed in the locked revision's file (None: nothing): the parts of its code, or
    the file, for an entry of the bytes' form."""
    if not entry.checksum.startswith("code:"):
        return None if checksum(path) == entry.checksum else ["the file"]
    now = code_checksum(path)
    if now == entry.checksum:
        return None
    if not now.startswith("code:"):
        return ["the file (it no longer parses)"]
    was = dict(item.split("=", 1) for item in entry.checksum.removeprefix("code:").split(","))
    is_ = dict(item.split("=", 1) for item in now.removeprefix("code:").split(","))
    return [_PART_NAMES[part] for part in PARTS if was.get(part) != is_.get(part)]


_PART_NAMES = {"upgrade": "upgrade()", "downgrade": "downgrade()", "module": "its module-level code"}


def entry_for(revision: str, path: str | Path, folder: Path) -> Entry:
    path = Path(path).resolve()
    try:
        shown = path.relative_to(folder.resolve()).as_posix()
    except ValueError:
        shown = str(path)
    return Entry(revision, code_checksum(path), shown)


def read_lock(path: Path) -> dict[str, Entry]:
    if not path.is_file():
        return {}
    entries: dict[str, Entry] = {}
    text = read_text(path, _RESTORE)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        if len(parts) != 3 or not parts[1].startswith(("sha256:", "code:")):
            raise ConfigError(f"{path} line {number} is not `REVISION CHECKSUM FILE`; {_RESTORE}")
        entries[parts[0]] = Entry(*parts)
    return entries


_RESTORE = "restore it from version control, or delete it and run `python -m checks lock`"


def write_lock(path: Path, entries: Iterable[Entry]) -> None:
    entries = list(entries)
    for entry in entries:
        if not entry.revision.isprintable() or entry.revision.startswith("#") or \
                len(entry.revision.split()) != 1:
            raise ConfigError(f"revision id {entry.revision!r} ({shown(entry.file)}) cannot be locked: an "
                              "id with spaces, a leading # or unprintable characters cannot be told apart in "
                              "revisions.lock; give the revision a plain id (what alembic revision makes)")
    # The file column is for people: an odd name (blank, a line break, not text) is shown escaped.
    lines = [f"{e.revision} {e.checksum} {shown(e.file)}\n" for e in entries]
    path.write_text(HEADER + "".join(lines), encoding="utf-8", errors="backslashreplace")


def check_lock(script_dir: str | Path, files: Iterable) -> list[Finding]:
    """Findings for the files stage; `files` have `.revision` and `.path` (RevisionFile)."""
    path = lock_path(script_dir)
    locked = read_lock(path)
    if not locked:
        return []
    current: dict[str, Path] = {}
    for info in files:
        if info.revision is not None:
            current.setdefault(info.revision, Path(info.path))
    findings = []
    for revision, entry in locked.items():
        file = current.get(revision)
        if file is None:
            findings.append(Finding(
                Severity.ERROR, "locked-revision-removed",
                f"revision {revision} ({entry.file}) is in {path.name} but no file declares it any more: "
                f"every database at {revision} stops with \"Can't locate revision\"",
                revision=revision, object=entry.file,
                hint="if the history was squashed, run `python -m checks lock` to forget it; "
                     "otherwise restore the file from version control: databases still record it"))
        elif (changed := changed_parts(entry, file)) is not None:
            findings.append(Finding(
                Severity.ERROR, "locked-revision-changed",
                f"{file.name} (revision {revision}) changed after it was locked as released "
                f"({', '.join(changed)}); databases that already ran it will not get the change",
                revision=revision, object=str(file),
                hint=f"revert the edit (git checkout -- {file}) and put the change in a new revision "
                     f"(alembic revision -m '...'); if the edit is deliberate and harmless, run "
                     f"`python -m checks lock --relock {revision}`"))
    return findings
