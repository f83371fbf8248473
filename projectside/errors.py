"""Failures as data: what the suite needs to explain one in a line, and the whole of it for
the project log."""

from __future__ import annotations

import traceback


def described(exc: BaseException) -> dict:
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    # The exceptions it was raised while handling, innermost last: a failing statement's
    # line can be in the error the project's code re-raised from.
    chain, seen = [], exc.__context__
    while seen is not None and len(chain) < 10:
        chain.append([[frame.filename, frame.lineno, frame.name] for frame in traceback.extract_tb(
            seen.__traceback__)] if seen.__traceback__ else [])
        seen = seen.__context__
    orig = getattr(exc, "orig", None)  # a DBAPI error under SQLAlchemy's
    statement = getattr(exc, "statement", None)  # the SQL it failed on
    missing = exc
    while missing is not None and not isinstance(missing, ModuleNotFoundError):
        missing = missing.__cause__ or missing.__context__
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "database_error": str(orig) if orig is not None else None,
        "statement": statement if isinstance(statement, str) else None,
        "missing_module": getattr(missing, "name", None),
        "frames": [[frame.filename, frame.lineno, frame.name] for frame in frames],
        "context_frames": chain,
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        "base": not isinstance(exc, Exception),  # SystemExit from env.py, say
        # SQLAlchemy took it for a lost connection (and let go of its pool's)
        "invalidated": bool(getattr(exc, "connection_invalidated", False)),
    }
