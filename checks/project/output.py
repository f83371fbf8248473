"""Where the project's own output goes: a log file, or the console under -v.

env.py, the models and the app print and log while they run (Alembic's INFO lines from
`fileConfig(config.config_file_name)`, an app's startup banner); none of it belongs in
the report. It goes to a file of the run's own in `.alembic-preflight/` in the project
folder (ignored by git, like .pytest_cache; `project-output-<UTC time>-<pid>.log`, so two
runs at once do not write into one file; the newest few are kept, and
`project-output.log` links to the latest; a temporary file if the folder is read-only);
`verify` names the file once, at the end. Under `-v` it goes to stderr instead. The last
lines are kept in memory either way: they explain failures.

A logging handler made while env.py runs holds this stream, not the real stderr, and
keeps writing to it after the call returns; so the stream is never closed.
"""

from __future__ import annotations

import collections
import io
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from harness.errors import mask_passwords

TAIL_LINES = 50


FOLDER = ".alembic-preflight"
LOG_NAME = "project-output.log"  # a link to the latest run's own log
KEEP_LOGS = 5  # the runs whose logs stay; older ones are removed when a run starts


class ProjectOutput(io.TextIOBase):
    def __init__(self, project_root: Path) -> None:
        super().__init__()
        self.folder = project_root / FOLDER
        self.echo: TextIO | None = None  # the console, under -v
        self.path: Path | None = None
        self._file: TextIO | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not text:
            return 0
        # Whole lines, masked: env.py files print their URL, password and all.
        lines = [mask_passwords(line) for line in (self._partial + text).split("\n")]
        self._partial = lines.pop()
        self._tail.extend(lines)
        if lines:
            self._out().write("".join(line + "\n" for line in lines))
        return len(text)

    def _out(self) -> TextIO:
        return self.echo if self.echo is not None else self._open()

    def share(self) -> None:
        """Open the stream now and flush it: a forked copy of this process then appends to
        the same file instead of creating its own."""
        self._out()
        self.flush()

    def flush(self) -> None:
        if self._partial:  # a prompt or progress without its newline yet
            self._out().write(self._partial)
            self._partial = ""
        for stream in (self.echo, self._file):
            if stream is not None:
                stream.flush()

    def close(self) -> None:
        # A handler's close() at interpreter exit must not end the capture mid-run.
        self.flush()

    def _open(self) -> TextIO:
        if self._file is None:
            try:
                self.folder.mkdir(exist_ok=True)
                (self.folder / ".gitignore").write_text("# written by alembic-preflight\n*\n")
                self._file = _run_log(self.folder).open("x", buffering=1)  # noqa: SIM115 - for the whole run
                _point_latest(self.folder, Path(self._file.name))
            except OSError:
                self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - for the whole run
                    "w", prefix="alembic-preflight-project-", suffix=".log", delete=False, buffering=1)
            self.path = Path(self._file.name)
        return self._file

    def tail(self, lines: int = 6) -> str:
        kept = [*self._tail, self._partial] if self._partial else list(self._tail)
        return "\n".join(line for line in kept[-lines:])

    def pointer(self) -> str:
        """'; last output: "..." (all of it in PATH)' for a failure message, or ''."""
        last = self.tail(1).strip()
        if not last:
            return ""
        where = f" (all of it in {self.path})" if self.path else " (on stderr above)"
        return f'; its last output: "{last[:200]}"{where}'

    def notice(self) -> str | None:
        """The one line that tells where the project's output went, if it wrote any."""
        if self.path is None:
            return None
        return f"  project output (env.py, models, app logging): {self.path}\n"


def _run_log(folder: Path) -> Path:
    """This run's own log file, after removing all but the newest KEEP_LOGS - 1 of the others."""
    stem = LOG_NAME.removesuffix(".log")
    older = sorted((p for p in folder.glob(f"{stem}-*.log") if not p.is_symlink()),
                   key=lambda p: p.stat().st_mtime, reverse=True)
    for old in older[KEEP_LOGS - 1:]:
        old.unlink(missing_ok=True)
    base = f"{stem}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{os.getpid()}"
    path, n = folder / f"{base}.log", 2
    while path.exists():  # a second project opened by this process within the second
        path, n = folder / f"{base}-{n}.log", n + 1
    return path


def _point_latest(folder: Path, log: Path) -> None:
    """`project-output.log` -> the newest run's log (replaced in one step; none if links fail)."""
    link = folder / f".{LOG_NAME}.{os.getpid()}"
    try:
        link.unlink(missing_ok=True)
        link.symlink_to(log.name)
        link.replace(folder / LOG_NAME)
    except OSError:
        link.unlink(missing_ok=True)
