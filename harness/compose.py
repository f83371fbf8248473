"""The compose backend: a throwaway PostgreSQL container from compose.test.yml.

Each server is its own compose project (alembic-preflight-<run id>) running one service,
so parallel runs never share or stop each other's containers. Stacks of runs that
were killed outright are removed when the next server starts (see compose_stacks).
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import time

import docker
from docker.models.containers import Container

from harness.compose_cli import run_compose
from harness.compose_stacks import (
    PROJECT_LABEL,
    PROJECT_PREFIX,
    remove_stack,
    remove_stale_stacks,
    stack_labels,
)
from harness.docker_engine import engine, engine_host, engine_problem, image_present
from harness.errors import ServerError
from harness.images import BUILDABLE, image_name
from harness.server import Endpoint, Server

MAJORS = (13, 14, 15, 16, 17, 18)  # the services of compose.test.yml
USER = "postgres"
OFFICIAL = "postgres"


def _timeout() -> float:
    return float(os.environ.get("VERIFY_COMPOSE_TIMEOUT", 120))


def image_for(major: int) -> str:
    """The image compose.test.yml will run for `major`.

    VERIFY_PG_IMAGE_PREFIX decides if set; otherwise the official image if present, then
    the one `invoke build-images` makes, else the official one (to be pulled).
    """
    prefix = os.environ.get("VERIFY_PG_IMAGE_PREFIX")
    if prefix:
        return f"{prefix}:{major}"
    for name in (f"{OFFICIAL}:{major}", image_name(major)):
        try:
            if image_present(name):
                return name
        except ServerError:
            break
    return f"{OFFICIAL}:{major}"


def _pullable(image: str) -> bool:
    """Whether a registry offers `image` (asked without pulling, and briefly: air-gapped hosts)."""
    try:
        docker.from_env(timeout=10).api.inspect_distribution(image)
    except (docker.errors.DockerException, OSError):
        return False
    return True


def _missing_image_hint(major: int) -> str:
    if major in BUILDABLE:
        build = f"invoke build-images --major {major}"
        return f"run `{build}` (needs no registry) or `docker pull {OFFICIAL}:{major}`"
    built = ", ".join(map(str, BUILDABLE))
    return (
        f"run `docker pull {OFFICIAL}:{major}` where a registry is reachable "
        f"(`invoke build-images` makes {built} only)"
    )


def compose_available(major: int) -> str | None:
    """None if the compose backend can serve `major` here, else the reason (one line)."""
    if major not in MAJORS:
        have = ", ".join(map(str, MAJORS))
        return f"compose.test.yml has no service for PostgreSQL {major} (it has {have})"
    problem = engine_problem()
    if problem:
        return problem
    image = image_for(major)
    if image_present(image) or _pullable(image):
        return None
    hint = _missing_image_hint(major)
    return f"no image for PostgreSQL {major}: {image} is not present and cannot be pulled; {hint}"


class ComposeServer(Server):
    """PostgreSQL `major` in a container of its own compose project, removed with all it made on exit."""

    backend = "compose"
    disposable = True  # the stack and its volumes are removed when it stops

    def __init__(self, major: int) -> None:
        super().__init__()
        if major not in MAJORS:
            raise ServerError(
                f"no compose service for PostgreSQL {major}; choose one of {', '.join(map(str, MAJORS))}"
            )
        self.pg_major = major
        self.service = f"pg{major}"
        self.project = f"{PROJECT_PREFIX}{self.run_id}"
        self.image = ""
        self._password = secrets.token_urlsafe(18)
        self._endpoint: Endpoint | None = None
        self._container: Container | None = None

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            raise ServerError(f"the compose server for PostgreSQL {self.pg_major} is not running")
        return self._endpoint

    def describe(self) -> str:
        return f"{super().describe()} ({self.image}, compose project {self.project})"

    # --- lifecycle -----------------------------------------------------------
    def _start(self) -> None:
        engine()  # fail fast, with the engine's own message, before anything else
        remove_stale_stacks()
        self.image = image_for(self.pg_major)
        self._ensure_image()
        prefix, _, _tag = self.image.rpartition(":")
        env = {
            **stack_labels(self.run_id),
            "VERIFY_PG_IMAGE_PREFIX": prefix,
            "VERIFY_PG_USER": USER,
            "VERIFY_PG_PASSWORD": self._password,
            # A remote engine publishes on its own interfaces; a local one only on loopback.
            "VERIFY_PG_BIND": "127.0.0.1" if engine_host() == "127.0.0.1" else "0.0.0.0",
        }
        _teardown_on_sigterm(self)
        run_compose(self.project, ["up", "-d", "--no-deps", "--no-build", self.service], env)
        self._container = self._find_container()
        self._wait_ready()

    def _stop(self) -> None:
        # The SDK, not `compose down`: the same removal the stale sweep uses, and
        # it also catches what an interrupted `up` made. Data is throwaway: no grace period.
        try:
            remove_stack(self.project)
        finally:
            self._endpoint = None
            _teardown_on_sigterm(self, register=False)

    # --- steps ---------------------------------------------------------------
    def _ensure_image(self) -> None:
        if image_present(self.image):
            return
        try:
            engine().images.pull(self.image)
        except docker.errors.DockerException as exc:
            reason = getattr(exc, "explanation", None) or str(exc)
            raise ServerError(
                f"no image {self.image} for PostgreSQL {self.pg_major}, and pulling it failed ({reason}); "
                f"{_missing_image_hint(self.pg_major)}"
            ) from None

    def _find_container(self) -> Container:
        labels = [f"{PROJECT_LABEL}={self.project}", f"com.docker.compose.service={self.service}"]
        found = engine().containers.list(all=True, filters={"label": labels})
        if not found:
            raise ServerError(f"compose started {self.service}, yet project {self.project} has no container")
        return found[0]

    def _wait_ready(self) -> None:
        """Until a real query answers through the published port; fails early if the container dies.

        That query is a stricter test than the healthcheck (pg_isready inside the
        container), and it usually passes a healthcheck interval sooner.
        """
        container = self._container
        deadline = time.monotonic() + _timeout()
        while True:
            container.reload()
            state = container.attrs["State"]
            health = (state.get("Health") or {}).get("Status")
            if state["Status"] in ("exited", "dead") or health == "unhealthy":
                running = state["Status"] == "running"
                what = "is unhealthy" if running else f"exited with code {state.get('ExitCode')}"
                raise ServerError(f"PostgreSQL {self.pg_major} ({self.image}) {what}{self._log_tail()}")
            port = (container.ports.get("5432/tcp") or [{}])[0].get("HostPort")
            if port:
                self._endpoint = Endpoint(engine_host(), int(port), USER, self._password)
                try:
                    with self.connect() as conn:
                        conn.execute("SELECT 1")
                    return
                except ServerError as exc:
                    problem = str(exc)
            else:
                problem = "no host port is published for 5432"
            if time.monotonic() > deadline:
                self._endpoint = None
                raise ServerError(
                    f"PostgreSQL {self.pg_major} ({self.image}) did not answer within {_timeout():.0f}s "
                    f"(last: {problem}); set VERIFY_COMPOSE_TIMEOUT higher on a slow host{self._log_tail()}"
                )
            time.sleep(0.2)

    def _log_tail(self, lines: int = 30) -> str:
        if self._container is None:
            return ""
        try:
            text = self._container.logs(tail=lines).decode(errors="replace").rstrip()
        except docker.errors.DockerException:
            return ""
        body = "\n".join("    " + line for line in text.splitlines()) or "    (empty)"
        return f"\n  container {self._container.name} log (last {lines} lines):\n{body}"


# --- SIGTERM ----------------------------------------------------------------
# Ctrl-C already unwinds through Server.__exit__; SIGTERM (CI cancelling a job,
# `kill`) would end the process without it. While any server runs, SIGTERM raises
# SystemExit instead so every `with` block tears its stack down.
_running: set[ComposeServer] = set()
_previous_handler: object = None


def _raise_system_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _teardown_on_sigterm(server: ComposeServer, register: bool = True) -> None:
    global _previous_handler
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers; its own signal handling applies
    if register:
        if not _running and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            _previous_handler = signal.signal(signal.SIGTERM, _raise_system_exit)
        _running.add(server)
    elif server in _running:
        _running.discard(server)
        if not _running and _previous_handler is not None:
            signal.signal(signal.SIGTERM, _previous_handler)
            _previous_handler = None
