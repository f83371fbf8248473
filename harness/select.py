"""Choose a backend: the one asked for, or compose where it can run, local otherwise."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.server import Server

BACKENDS = ("auto", "local", "url", "compose")
# Not a place servers come from: a run whose stages need none (verify only).
NO_SERVER = "none"


def open_server(backend: str = "auto", pg: int | None = None, url: str | None = None) -> Server:
    """An unstarted server for the requested backend; use it as a context manager."""
    if backend == NO_SERVER:
        from harness.no_server import NoServer

        return NoServer()
    if backend not in BACKENDS:
        raise HarnessError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if url and backend in ("auto", "url"):
        from harness.url import UrlServer

        return UrlServer(url)
    if backend == "url":
        raise HarnessError("--backend url needs --url postgresql://USER:PASSWORD@HOST:PORT/DB")
    if backend == "compose" or (backend == "auto" and pg is not None and _compose_ready(pg)):
        from harness.compose import ComposeServer

        return ComposeServer(pg or 17)
    from harness.local import LocalServer

    return LocalServer(pg)


def _compose_ready(pg: int) -> bool:
    try:
        from harness.compose import compose_available
    except ImportError:
        return False
    return compose_available(pg) is None
