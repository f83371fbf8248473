"""drift: names longer than PostgreSQL's 63 bytes, which it truncates.

A model may name a table, column, index or constraint with more than 63 bytes (NAMEDATALEN
- 1); PostgreSQL keeps the first 63 bytes (never splitting a character) and says so in a
NOTICE. The migration creates the same object, so the database holds the truncated name:
drift must compare names the way PostgreSQL stores them and report nothing, and must still
report a real difference between two long names that truncate apart.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from projects import Rev, build_project

from checks.stages.drift_names import pg_truncate

# 70 bytes in ASCII, and in multi-byte UTF-8 (ü is 2 bytes: the cut falls inside a character).
LONG_TABLE = "order_line_items_with_a_name_far_longer_than_postgresql_keeps_for_real"
LONG_COLUMN = "customer_reference_number_that_exceeds_the_identifier_limit_of_postgres"
UNICODE_COLUMN = "größenangabe_" + "ü" * 30
LONG_INDEX = "ix_lines_customer_reference"

MODELS = f"""\
import sqlalchemy as sa

metadata = sa.MetaData()
lines = sa.Table(
    {LONG_TABLE!r}, metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column({LONG_COLUMN!r}, sa.Text, nullable={{nullable}}),
    sa.Column({UNICODE_COLUMN!r}, sa.Integer),
    sa.Index({LONG_INDEX!r}, {LONG_COLUMN!r}),
)
"""
UPGRADE = f"""\
op.create_table(
    {LONG_TABLE!r},
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column({LONG_COLUMN!r}, sa.Text, nullable=True),
    sa.Column({UNICODE_COLUMN!r}, sa.Integer),
)
op.create_index({LONG_INDEX!r}, {LONG_TABLE!r}, [{LONG_COLUMN!r}])
"""
DOWNGRADE = f"op.drop_table({LONG_TABLE!r})"


def project(root, nullable="True"):
    return build_project(root, [Rev("0001", None, UPGRADE, DOWNGRADE)],
                         models=MODELS.format(nullable=nullable))


def test_names_postgresql_truncates_are_no_drift_and_are_named_once(verify, tmp_path):
    result = verify(project(tmp_path / "project"))
    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("drift")["status"] == "warn", result.stdout
    findings = result.findings("drift")
    assert {f["code"] for f in findings} == {"identifier-truncated"}, result.stdout
    assert sorted(f["object"] for f in findings) == sorted([
        f"table {LONG_TABLE}", f"column {LONG_TABLE}.{LONG_COLUMN}", f"column {LONG_TABLE}.{UNICODE_COLUMN}"])
    column = next(f for f in findings if UNICODE_COLUMN in f["object"])
    assert repr(pg_truncate(UNICODE_COLUMN)) in column["hint"]
    assert all(result.stage(name)["status"] == "pass" for name in ("fresh", "roundtrip"))


def test_a_real_difference_on_a_long_name_is_still_found(verify, tmp_path):
    result = verify(project(tmp_path / "project", nullable="False"), "--stage", "drift")
    assert result.code == 1, result.stdout
    failing = [f for f in result.findings("drift") if f["severity"] == "error"]
    assert failing and all(pg_truncate(LONG_COLUMN) in f["message"] for f in failing), result.stdout


@settings(max_examples=80, deadline=None, database=None, derandomize=os.environ.get("CI") == "true")
@given(st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), min_size=1,
               max_size=80))
def test_names_are_truncated_as_postgresql_truncates_them(pg_connection, name):
    [(stored,)] = pg_connection.execute("SELECT %s::name::text", (name,)).fetchall()
    assert pg_truncate(name) == stored


@pytest.fixture(scope="module")
def pg_connection(pg_server):
    with pg_server.connect() as conn:
        yield conn
