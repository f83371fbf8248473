"""The suite's side of the process boundary: a process of the project's own Python that runs
`projectside` (the project's code, in the project's context), and the one way to talk to it.

The package is copied into a private folder for the process's lifetime and put first on
its sys.path: nothing is installed into the project's environment, and nothing of the
suite's but that package is importable there. Requests and answers are JSON lines on two
pipes of their own; the process's stdout and stderr, where the project's code prints, go
to the project log. While a request runs env.py, the process sends events (env.py
configured, a step applied); the suite answers each by running statements on the
migration's connection through `AgentConnection`, then resuming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from checks.errors import ProjectError

PACKAGE = Path(__file__).resolve().parents[2] / "projectside"
STOP_WAIT_S = 5.0

EventHandler = Callable[[str, dict], object]


class AgentFailure(Exception):
    """A request failed in the project's process; `details` is `projectside.errors.described`'s."""

    def __init__(self, details: dict) -> None:
        super().__init__(f"{details.get('type')}: {details.get('message')}")
        self.details = details

    @property
    def type(self) -> str:
        return str(self.details.get("type"))


# Run from a folder of its own given on the command line: `-m` would need it as the working
# directory, and a container running the project's Python sees only the paths it mounts.
# The stack is checked first: on one too old for the package, every answer says so.
_BOOT = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); "
         "import projectside.floor; projectside.floor.check(); "
         "runpy.run_module('projectside', run_name='__main__')")


class Agent:
    def __init__(self, python: str | list[str], output: IO[str] | None = None) -> None:
        """`python` is the project's interpreter, or a command that runs it (in a container).
        What the project's code prints goes to `output` line by line (the project log, which
        masks passwords), or nowhere."""
        command = [python] if isinstance(python, str) else list(python)
        self.python = " ".join(command)
        self._folder = Path(tempfile.mkdtemp(prefix="alembic-preflight-agent-"))
        shutil.copytree(PACKAGE, self._folder / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
        try:
            self._process = subprocess.Popen(
                [*command, "-c", _BOOT, str(self._folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if output is not None else subprocess.DEVNULL,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        except OSError as exc:
            shutil.rmtree(self._folder, ignore_errors=True)
            raise ProjectError(f"cannot start the project's Python {self.python}: {exc.strerror}; point "
                               "--python (or the python setting) at the project's interpreter") from None
        # No thread of ours reads the pipes (a process with a second thread may not fork the
        # suite's workers): what the project prints is read while a request waits for its
        # answer, and copied to `output` a line at a time.
        self._writer = self._process.stdin
        self._output = output
        self._answers = b""
        self._printed = b""
        self._selector = selectors.DefaultSelector()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                os.set_blocking(stream.fileno(), False)
                self._selector.register(stream.fileno(), selectors.EVENT_READ)

    def request(self, op: str, on_event: EventHandler | None = None, **args) -> object:
        """Send one request and return its answer, handling the events it sends meanwhile."""
        self._send({"op": op, "args": args})
        while True:
            message = self._receive(op)
            if "event" in message:
                value = on_event(message["event"], message.get("data") or {}) if on_event else None
                self._send({"op": "resume", "args": {"value": value}})
            elif "error" in message:
                raise AgentFailure(message["error"])
            else:
                return message.get("ok")

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def interrupt(self) -> None:
        """End what env.py is running in there (Python code past a revision's time limit): a
        signal its main thread turns into an exception the project cannot catch."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._process.pid, signal.SIGUSR1)

    def abandon(self) -> None:
        """End the process now, whatever it is doing (the suite stopped in the middle of a
        request): its database sessions end with it, their transactions rolled back."""
        with contextlib.suppress(ProcessLookupError):
            self._process.kill()
        self.close()

    def connection(self) -> AgentConnection:
        """The migration's connection, for the statements an event handler runs."""
        return AgentConnection(self)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._writer.close()
        try:
            self._process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        with contextlib.suppress(OSError, ValueError):
            while self._selector.get_map():
                self._read_ready(None, 0)
        if self._printed:
            self._copy(b"\n")
        self._selector.close()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _send(self, message: dict) -> None:
        try:
            self._writer.write((json.dumps(message) + "\n").encode("utf-8"))
            self._writer.flush()
        except BrokenPipeError:
            raise self._ended() from None

    def _receive(self, op: str) -> dict:
        while b"\n" not in self._answers:
            if not self._read_ready(op):
                raise self._ended(op)
        line, self._answers = self._answers.split(b"\n", 1)
        return json.loads(line)

    def _read_ready(self, op: str | None, timeout: float | None = None) -> bool:
        """Read what the pipes hold now (waiting up to `timeout`); False once the answers'
        pipe has closed."""
        answers = self._process.stdout.fileno()
        ready = self._selector.select(timeout)
        if not ready and timeout is not None:
            raise OSError("nothing more to read")
        for key, _ in ready:
            chunk = os.read(key.fd, 1 << 16)
            if not chunk:
                self._selector.unregister(key.fd)
                if key.fd == answers:
                    return False
            elif key.fd == answers:
                self._answers += chunk
            else:
                self._copy(chunk)
        return True

    def _copy(self, chunk: bytes) -> None:
        *lines, self._printed = (self._printed + chunk).split(b"\n")
        if self._output is not None:
            for line in lines:
                self._output.write(line.decode("utf-8", "replace") + "\n")

    def _ended(self, op: str | None = None) -> ProjectError:
        code = self._process.wait()
        during = f" during {op}" if op else ""
        return ProjectError(f"the project's Python ({self.python}) ended{during} with exit code {code}; "
                            "its last output is in the project log")


class AgentResult:
    """The rows of one statement, with the parts of SQLAlchemy's result the suite reads."""

    def __init__(self, rows: list | None) -> None:
        self.returns_rows = rows is not None
        self._rows = [tuple(row) for row in rows or ()]

    def fetchall(self) -> list[tuple]:
        return list(self._rows)

    def fetchone(self) -> tuple | None:
        return self._rows[0] if self._rows else None

    def first(self) -> tuple | None:
        return self.fetchone()

    def scalar(self):
        row = self.fetchone()
        return row[0] if row else None


class AgentConnection:
    """Statements on the migration's connection in the project's process, between steps.

    Answers as much of psycopg's Connection as the catalog snapshot uses (`execute` with
    %(name)s parameters, `transaction`), and of SQLAlchemy's as the stages' callbacks use
    (`exec_driver_sql`). `autocommit` says, at each event, whether the migration's
    connection commits every statement itself (no savepoint possible)."""

    SAVEPOINT = "alembic_preflight_read"

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        self.autocommit = False
        # The measurement of locks, rewrites and scans (checks.project.remote.RemoteMeter):
        # asked for, the last revision's, and whether to read the catalogs afresh after it.
        self.measure: str | None = None
        self.measured: dict | None = None
        self.reread = False

    def rows(self, statements: list[tuple[str, dict | None]]) -> list[AgentResult]:
        """Several statements in one round trip, each one's result."""
        answers = self._agent.request("sql", statements=[[text, params] for text, params in statements])
        return [AgentResult(rows) for rows in answers]

    def fetch_batch(self, statements: list[tuple[str, dict | None]],
                    settings: list[str]) -> list[list[tuple]]:
        """Every statement's rows in one round trip, after `settings` (SET LOCAL statements)
        that a savepoint around them takes back; outside a transaction, as they come."""
        if self.autocommit:
            results = self.rows([(text, params) for text, params in statements])
            return [result.fetchall() for result in results]
        opened = [(f"SAVEPOINT {self.SAVEPOINT}", None), *((text, None) for text in settings)]
        closed = [(f"ROLLBACK TO SAVEPOINT {self.SAVEPOINT}", None),
                  (f"RELEASE SAVEPOINT {self.SAVEPOINT}", None)]
        results = self.rows([*opened, *statements, *closed])
        return [result.fetchall() for result in results[len(opened):len(opened) + len(statements)]]

    def exec_driver_sql(self, statement: str) -> AgentResult:
        return self.rows([(statement, None)])[0]

    def execute(self, statement: str, params: dict | None = None) -> AgentResult:
        return self.rows([(statement, params)])[0]


def opening(project) -> dict:
    """What the project's process needs to load a `checks.project.project.Project` the way
    the suite reads it: folders, sys.path, alembic.ini and the resolved script folders,
    and the context settings."""
    from checks.project import locations

    cfg = project.config()
    chosen = locations.expand(project.settings.version_locations, project.root)
    toml = project.root / "pyproject.toml"
    return {
        "root": str(project.root),
        "paths": list(project.env.paths),
        "ini": {"path": str(project.ini_path), "section": project.settings.ini_section,
                "toml": str(toml) if toml.is_file() else None,
                "script_location": cfg.get_main_option("script_location"),
                "version_locations": [locations.resolve(loc, project.root, project.ini_path.parent)
                                      for loc in chosen]},
        "runner": project.settings.runner,
        "flask_app": project.settings.flask_app,
        "source": project.settings.home(),
    }
