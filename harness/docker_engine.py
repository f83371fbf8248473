"""The one way this suite talks to a Docker engine: the docker SDK, errors translated."""

from __future__ import annotations

import functools
import os

import docker

from harness.errors import ServerError


def _where() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


@functools.cache
def _cached_engine() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ServerError(
            f"no Docker engine answers at {_where()}: {reason}; "
            "start Docker (or set DOCKER_HOST), or use --backend local"
        ) from None
    return client


def engine() -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names, checked to answer; ServerError if none does."""
    return _cached_engine()


def engine_problem() -> str | None:
    """None if a Docker engine answers, else why not (one line)."""
    try:
        engine()
    except ServerError as exc:
        return str(exc)
    return None


def image_present(name: str) -> bool:
    try:
        engine().images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def engine_host() -> str:
    """The address at which ports the engine publishes are reachable from here."""
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith(("tcp://", "ssh://")):
        netloc = host.split("://", 1)[1].rsplit("@", 1)[-1]
        return netloc.split("/")[0].rsplit(":", 1)[0] or "127.0.0.1"
    return "127.0.0.1"
