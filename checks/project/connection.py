"""The connection the suite shares with env.py through `config.attributes["connection"]`.

Alembic's cookbook hands env.py a Connection; pytest-alembic and many env.py files treat
the same attribute as an Engine (`connectable.connect()`, `connectable.begin()`,
`connectable.dispose()`). Both shapes must run on the one connection the suite lends,
because the suite snapshots the uncommitted schema between steps through it and commits
what env.py leaves open. So the shared object stays a real Connection (isinstance checks and
`run_sync` keep working) whose Engine-like calls lend itself out, and whose commit and close
wait for the suite.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool


class _Lent:
    """What `begin()` returns: a context yielding the shared connection, and a transaction
    whose end is the suite's to decide."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def __enter__(self) -> Connection:
        return self._connection

    def __exit__(self, *exc_info) -> None:
        return None

    @property
    def is_active(self) -> bool:
        return True

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        # An error inside env.py still reaches the suite, which rolls everything back.
        pass

    def close(self) -> None:
        pass


class _Begun:
    """What `begin()` returns outside a transaction: a real one that is also a context
    yielding the connection, as `Engine.begin()` is (Alembic uses it as a Transaction)."""

    def __init__(self, connection: Connection, transaction) -> None:
        self._connection = connection
        self._transaction = transaction

    def __enter__(self) -> Connection:
        return self._connection

    def __exit__(self, exc_type, *exc_info) -> None:
        if not self._transaction.is_active:
            return
        if exc_type is None:
            self._transaction.commit()
        else:
            self._transaction.rollback()

    def __getattr__(self, name: str):
        return getattr(self._transaction, name)


class _EngineLike:
    """Engine-like calls on the shared connection, copied into a subclass of its own class."""

    def connect(self, *args, **kwargs):
        return self

    def begin(self):
        if not self.in_transaction():
            return _Begun(self, type(self).__mro__[1].begin(self))
        return _Lent(self)

    def commit(self) -> None:
        pass

    def close(self) -> None:
        pass

    def dispose(self, *args, **kwargs) -> None:
        pass

    @property
    def url(self):
        return self.engine.url


_classes: dict[type, type] = {}


def _shared_class(cls: type) -> type:
    # One subclass per concrete class (1.4 has a legacy and a "future" Connection). Its only
    # base is that class and it adds no slots, or a live connection could not switch to it.
    if cls not in _classes:
        methods = {k: v for k, v in vars(_EngineLike).items() if not k.startswith("__")}
        _classes[cls] = type(f"Shared{cls.__name__}", (cls,), {**methods, "__slots__": ()})
    return _classes[cls]


@contextlib.contextmanager
def lend(connection: Connection) -> Iterator[Connection]:
    """Give `connection` the Engine-like behaviour above for the duration of the block."""
    original = type(connection)
    connection.__class__ = _shared_class(original)
    try:
        yield connection
    finally:
        connection.__class__ = original


@contextlib.contextmanager
def shared_connection(url) -> Iterator[Connection]:
    """A connection lent to env.py outside any transaction, committed if the block succeeds.

    Outside a transaction, as `alembic upgrade` gives env.py its own fresh connection:
    Alembic's begin_transaction() then owns the transaction and can commit it around an
    `autocommit_block()` (CREATE INDEX CONCURRENTLY). Whatever env.py leaves open at the
    end is committed, as the cookbook's `with engine.begin()` caller would.
    """
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            with lend(connection):
                yield connection
            transaction = connection.get_transaction()
            if transaction is not None:
                transaction.commit()
    finally:
        engine.dispose()
