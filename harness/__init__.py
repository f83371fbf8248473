"""Ephemeral PostgreSQL servers behind one interface; see `open_server`."""

from harness.errors import HarnessError, ServerError
from harness.select import BACKENDS, open_server
from harness.server import Endpoint, Server

__all__ = ["BACKENDS", "Endpoint", "HarnessError", "Server", "ServerError", "open_server"]
