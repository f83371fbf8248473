"""TEMPORARY: stands in for tests/conftest.py's `pg_server` until the harness provides it.

Points at a private development server (SNAPDEV_HOST, SNAPDEV_PORT); delete this file
once tests/conftest.py defines `pg_server`.
"""

import os

import pytest

from harness.server import Endpoint, Server


class _RunningServer(Server):
    backend = "dev"

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(
            host=os.environ.get("SNAPDEV_HOST", "/tmp"),
            port=int(os.environ.get("SNAPDEV_PORT", "55432")),
            user="postgres",
            password="",
        )


@pytest.fixture(scope="session")
def pg_server():
    with _RunningServer() as server:
        yield server
