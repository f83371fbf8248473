"""The connection env.py is lent through `config.attributes["connection"]`.

Alembic's cookbook hands env.py a Connection; pytest-alembic and many env.py files treat the
same attribute as an Engine (`connectable.connect()`, `connectable.begin()`,
`connectable.dispose()`). Both shapes run on the one connection lent here, because the
suite reads the uncommitted schema between steps through it and this process commits what
env.py leaves open. So the object stays a real Connection (isinstance checks and
`run_sync` keep working) whose Engine-like calls lend itself out, and whose commit and
close are this process's to do.

An async env.py may take the attribute for an AsyncEngine (pytest-alembic documents
`async with connectable.connect()`, `await connection.run_sync(...)`, `await
connectable.dispose()`): the lent connection answers those too, running the function on
itself, whatever the driver.
"""

from __future__ import annotations

import contextlib


class _Awaited:
    """What an awaited call returns where nothing is left to wait for; not awaiting it is
    fine too (no coroutine is left behind)."""

    def __await__(self):
        return iter(())


class _AsyncContext:
    """`async with` for what is already a plain context manager."""

    async def __aenter__(self):
        return self.__enter__()

    async def __aexit__(self, *exc_info):
        return self.__exit__(*exc_info)


class _Lent(_AsyncContext):
    """What `begin()` returns inside a transaction: the connection, and a transaction
    whose end is not env.py's to decide."""

    def __init__(self, connection) -> None:
        self._connection = connection

    def __enter__(self):
        return self._connection

    def __exit__(self, *exc_info) -> None:
        return None

    is_active = True

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass  # an error inside env.py still reaches the run, which rolls everything back

    def close(self) -> None:
        pass


class _Begun(_AsyncContext):
    """What `begin()` returns outside a transaction: a real one that is also a context
    yielding the connection, as `Engine.begin()` is."""

    def __init__(self, connection, transaction) -> None:
        self._connection = connection
        self._transaction = transaction

    def __enter__(self):
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

    def dispose(self, *args, **kwargs) -> _Awaited:
        return _Awaited()

    async def run_sync(self, fn, *args, **kwargs):
        return fn(self, *args, **kwargs)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info) -> None:
        return None

    @property
    def url(self):
        return self.engine.url


_classes: dict = {}


def _shared_class(cls: type) -> type:
    # One subclass per concrete class; it adds no slots, or a live connection could not switch.
    if cls not in _classes:
        methods = {k: v for k, v in vars(_EngineLike).items()
                   if not k.startswith("__") or k in ("__aenter__", "__aexit__")}
        _classes[cls] = type("Shared" + cls.__name__, (cls,), {**methods, "__slots__": ()})
    return _classes[cls]


@contextlib.contextmanager
def lent_connection(url: str):
    """A connection lent to env.py outside any transaction, committed if the block succeeds.

    Outside a transaction, as `alembic upgrade` gives env.py its own fresh connection:
    Alembic's begin_transaction() then owns the transaction and can commit it around an
    `autocommit_block()`. Whatever env.py leaves open at the end is committed."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            original = type(connection)
            connection.__class__ = _shared_class(original)
            try:
                yield connection
            finally:
                connection.__class__ = original
            get_transaction = getattr(connection, "get_transaction", None)  # SQLAlchemy 1.4+
            transaction = get_transaction() if get_transaction else None
            if transaction is not None:
                transaction.commit()
    finally:
        engine.dispose()
