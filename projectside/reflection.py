"""Autogenerate's reflection read in bulk for every schema it compares, not for the first alone.

Alembic 1.18 and later read the catalog of each compared schema in one query per kind
(columns, keys, indexes...) before comparing tables, and keep the result under one key
per kind. The first schema's result takes the key, so with `include_schemas` every table
of the other schemas is read again one query per kind per table: on the bench's history
(a second schema beside the default one) 645 queries instead of 87, and which schema wins
changes from one process to the next with the order of a set. Merging each schema's bulk
read into what is held gives autogenerate the same rows, since one table's reflection is
the bulk query narrowed to that table, in a fraction of the time. An Alembic without this
step, or of another shape, runs as it is.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

_OWN = "alembic-preflight: schemas read in bulk"  # beside Alembic's keys in the inspector's cache


@contextlib.contextmanager
def every_schema_read_in_bulk() -> Iterator[None]:
    """For the duration, each compared schema's bulk read joins the ones held before it."""
    try:
        conv = importlib.import_module("alembic.autogenerate.compare.util")._InspectorConv
        original = conv._pre_cache
    except (ImportError, AttributeError):
        yield
        return

    def pre_cache(self, schema, tablenames, all_available_tablenames, info_key, inspector_method):
        cache = self.inspector.info_cache
        done = cache.setdefault(_OWN, set())
        held = cache.get(info_key)
        if (schema, info_key) in done or not isinstance(held, dict):
            original(self, schema, tablenames, all_available_tablenames, info_key, inspector_method)
        else:
            del cache[info_key]  # so that Alembic reads this schema, then held takes it in
            try:
                original(self, schema, tablenames, all_available_tablenames, info_key, inspector_method)
                read = cache.get(info_key)
            finally:
                cache[info_key] = held
            if isinstance(read, dict):
                held.update(read)
        done.add((schema, info_key))

    conv._pre_cache = pre_cache
    try:
        yield
    finally:
        conv._pre_cache = original
