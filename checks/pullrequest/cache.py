"""A folder of migrated base databases, as SQL scripts from pg_dump, kept between CI runs.

An entry is `base-<key>.sql` with a `base-<key>.json` beside it. The script is pg_dump's
plain format with rows as INSERTs, so it loads through the run's own connection as one
text, in one round trip and one transaction: a pg_restore of the same base sends each of
its statements on its own, after starting a program and connecting (0.12-0.2 s for 60
tables, against 0.06 s). The key is a sha256 over
everything the base database is made of: each base revision file's content, the project's
own modules the revisions import, env.py, the settings that act before the first revision
or inside it (extensions, bootstrap, env), the PostgreSQL major, and the suite's and
Alembic's versions. The sidecar repeats the full key and the script's own
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
from datetime import UTC, datetime
from pathlib import Path

import alembic
from alembic.script import Script

from checks.lockfile import checksum
from checks.project.loaded import project_module_files
from checks.project.project import Project, first_line
from checks.pullrequest.scope import Trust, parents
from checks.version import VERSION
from harness.errors import HarnessError
from harness.server import Server

KEEP = 4  # entries; a CI cache holds the base of a few target branches
SCRIPT = ".sql"  # an entry's script, beside its .json description
_EARLIER = (".dump",)  # what entries of earlier formats held: pruned once their description goes
FORMAT = 3  # bump when what an entry holds changes
# Each object pg_dump writes comes under a header naming it; an extension's comment is
# its owner's to set (a superuser's, often): left out. The extensions themselves are kept
# (pg_dump writes CREATE EXTENSION IF NOT EXISTS): those a migration created are needed
# by what uses them, those from the settings exist already.
_HEADER = re.compile(r"^-- (?:Data for )?Name: (?P<name>.*?); Type: (?P<type>[^;]*);")
# psql's commands, not SQL: pg_dump fences its script with them (\restrict KEY ... \unrestrict KEY).
_PSQL_COMMAND = re.compile(r"^\\(un)?restrict\b")


def cache_key(project: Project, base: list[Script], server_major: int) -> str:
    digest = hashlib.sha256()
    settings = project.settings
    env_py = Path(project.script.dir) / "env.py"
    parts = [f"format {FORMAT}", f"alembic-preflight {VERSION}", f"alembic {alembic.__version__}",
             f"postgresql {server_major}", f"env.py {checksum(env_py) if env_py.is_file() else '-'}",
             f"extensions {sorted(settings.extensions)}", f"bootstrap {settings.bootstrap}"]
    parts += [f"{script.revision} {checksum(Path(script.path))}" for script in base]
    # What the revisions import from the project when they are loaded (an enum's values,
    # a custom type): an edit there changes what they build. Loaded before any env.py run
    # in this process, so env.py's own imports (the models) are not among them.
    root = Path(project.root).resolve()
    parts += [f"module {_shown(path, root)} {checksum(path)}" for path in project_module_files(project)]
    parts.append(f"env {sorted(settings.env.items())}")
    digest.update("\n".join(parts).encode())
    return digest.hexdigest()


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


class BaseCache:
    def __init__(self, folder: Path, keep: int = KEEP) -> None:
        self.folder = folder
        self.keep = keep

    def _paths(self, key: str) -> tuple[Path, Path]:
        stem = self.folder / f"base-{key[:32]}"
        return stem.with_suffix(SCRIPT), stem.with_suffix(".json")

    # --- reading ----------------------------------------------------------------
    def restore(self, key: str, server: Server, database: str, trust: Trust) -> bool:
        """Restore the entry for `key` into the empty `database`; False (with a warning in
        `trust`) when there is none or it cannot be trusted."""
        path, sidecar = self._paths(key)
        if not sidecar.exists() and not path.exists():
            return False
        problem, script = self._damage(key, path, sidecar)
        if problem is None:
            problem = _load(script, server, database)
        if problem is not None:
            trust.warnings.append(f"cache entry {path.name} ignored: {problem}; the base was applied "
                                  "from its revisions instead")
            self._forget(path, sidecar)
            return False
        with contextlib.suppress(OSError):
            os.utime(sidecar)
        return True

    def _damage(self, key: str, path: Path, sidecar: Path) -> tuple[str | None, bytes]:
        """What is wrong with the entry, if anything, and its script."""
        try:
            info = json.loads(sidecar.read_text())
        except (OSError, ValueError) as exc:
            return f"its description {sidecar.name} is unreadable ({type(exc).__name__})", b""
        if not isinstance(info, dict) or info.get("key") != key:
            return f"{sidecar.name} describes another base (key mismatch)", b""
        try:
            script = path.read_bytes()
        except OSError:
            return "the script is missing", b""
        if hashlib.sha256(script).hexdigest() != info.get("sha256"):
            return "the script's checksum does not match its description (truncated or altered)", b""
        if b"INSERT INTO " not in script:
            return "the script holds no rows (the version table's at least)", b""
        return None, script

    # --- writing ----------------------------------------------------------------
    def store(self, key: str, server: Server, database: str, base: list[Script], trust: Trust) -> None:
        """Dump the migrated base; a failure is a warning, never the run's failure."""
        # Only a run that stores imports pg_dump's machinery: a warm run only loads a script.
        from checks.recovery.backup import endpoint_args, endpoint_environment
        from harness.client_tools import client_tool

        path, sidecar = self._paths(key)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tool = client_tool("pg_dump", server.major)
            proc = subprocess.run([tool.path, "--format=plain", "--inserts", "--rows-per-insert=1000",
                                   "--no-owner", "--file", str(partial),
                                   *endpoint_args(server.endpoint), "--dbname", database],
                                  env=endpoint_environment(server.endpoint), capture_output=True, text=True,
                                  errors="replace")
            if proc.returncode != 0:
                partial.unlink(missing_ok=True)
                trust.warnings.append(f"the base was not cached: pg_dump failed ({_tail(proc.stderr)})")
                return
            script = _loadable(partial.read_text()).encode()
            partial.write_bytes(script)
            info = {"key": key, "sha256": hashlib.sha256(script).hexdigest(), "pg_dump_major": tool.major,
                    "server_version": server.version, "base_revisions": len(base),
                    "base_heads": _heads(base), "created": datetime.now(UTC).isoformat(timespec="seconds")}
            # Script first, description last, each renamed into place: a reader never trusts a
            # description whose script is still being written (a parallel job, a killed one).
            os.replace(partial, path)
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
            self._forget(sidecar.with_suffix(SCRIPT), sidecar)
        for suffix in (SCRIPT, *_EARLIER):
            for path in self.folder.glob(f"base-*{suffix}"):
                if not path.with_suffix(".json").exists():
                    path.unlink(missing_ok=True)
        for partial in self.folder.glob(".base-*.partial"):
            with contextlib.suppress(OSError):
                if partial.stat().st_mtime < datetime.now().timestamp() - 3600:
                    partial.unlink()

    @staticmethod
    def _forget(script: Path, sidecar: Path) -> None:
        for path in (script, sidecar):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)


def _loadable(script: str) -> str:
    """pg_dump's script, less psql's own commands and extensions' comments (see _HEADER)."""
    kept, skipping = [], False
    for line in script.splitlines(keepends=True):
        header = _HEADER.match(line)
        if header:
            skipping = header["type"] == "COMMENT" and header["name"].startswith("EXTENSION ")
        elif _PSQL_COMMAND.match(line) or (skipping and not line.startswith("--")):
            continue
        kept.append(line)
    return "".join(kept)


def _load(script: bytes, server: Server, database: str) -> str | None:
    """Run the script on `database` as one text: one implicit transaction, all or nothing."""
    try:
        with server.connect(database) as conn:
            conn.execute(script, prepare=False)
    except Exception as exc:  # noqa: BLE001 - whatever stops it, the base is applied instead
        return f"it does not load ({first_line(exc, limit=1)})"
    return None


def _heads(base: list[Script]) -> list[str]:
    below = {p for script in base for p in parents(script)}
    return sorted(s.revision for s in base if s.revision not in below)


def _tail(stderr: str) -> str:
    return " | ".join(stderr.strip().splitlines()[-3:]) or "no message"
