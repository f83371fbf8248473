"""Errors a user can act on, raised by any backend."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.server import Endpoint


class HarnessError(Exception):
    """An expected failure to provide a server; its message says what to do."""


class ServerError(HarnessError):
    """A server could not be reached, started or used."""

    @classmethod
    def from_connect_error(cls, exc: Exception, endpoint: Endpoint, backend: str) -> ServerError:
        text = mask_passwords(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        where = f"{endpoint.host}:{endpoint.port}"
        if "password authentication failed" in text:
            hint = f"the password for user {endpoint.user!r} was rejected; check the credentials in the URL"
        elif "does not exist" in text:
            hint = "check the user and database names in the URL"
        elif any(sign in text for sign in _UNREACHABLE) or "timeout" in text.lower():
            hint = "is the server running and reachable from here? check host and port"
        else:
            hint = "check the URL and that the server accepts connections"
        return cls(f"cannot connect to the {backend} server at {where}: {text}; {hint}")


class DatabaseInUse(ServerError):
    """Someone the run may not disconnect is still in one of its databases: a verdict on the
    run's environment (someone else's session), not a misconfiguration."""


# libpq's words and psycopg's own (it resolves host names itself) for "no server there".
_UNREACHABLE = ("Connection refused", "could not translate host name", "failed to resolve host")

# SQLAlchemy renders a URL with / : @ and quotes in the password escaped, but not spaces.
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\n]*:)(?P<pw>[^@/\n]*)@", re.I)
# A quoted value, with the backslash escapes of repr(), JSON and libpq inside.
_QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
# password=..., PGPASSWORD=..., POSTGRES_PASSWORD: ..., "password": "..." (libpq, env, dicts).
# A bare value runs to the next white space, as libpq reads it: a password may hold , & ) "
# and masking the rest of a query string or a closing quote with it costs nothing.
_KV_PASSWORD = re.compile(rf"""(["']?\w*password["']?\s*[=:]\s*)({_QUOTED}|\S+)""", re.I)

# pydantic names the field on one line and echoes its value on the next.
_FIELD_VALUE = re.compile(rf"(password\w*[ \t]*\n[^\n]*?input_value=)({_QUOTED}|[^\s,\]]+)", re.I)


def mask_passwords(text: str) -> str:
    """Replace any password in URLs, key/value strings, dicts or echoed fields with ***."""
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('scheme')}***@", text)
    text = _FIELD_VALUE.sub(lambda m: f"{m.group(1)}***", text)
    return _KV_PASSWORD.sub(lambda m: f"{m.group(1)}***", text)
