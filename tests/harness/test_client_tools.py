"""A client program recorded once is trusted again only while it is the very same file."""

from __future__ import annotations

import os
import shutil

import pytest

from harness.client_tools import client_tool, installed_majors, recorded_tool


@pytest.fixture
def pg_restore(tmp_path):
    """A copy of an installed pg_restore, to change without touching the installed one."""
    majors = installed_majors("pg_restore")
    if not majors:
        pytest.fail("no pg_restore installed; .ci/run installs PostgreSQL")
    tool = client_tool("pg_restore", majors[0])
    copy = tmp_path / "pg_restore"
    shutil.copy2(tool.path, copy)
    return type(tool)(str(copy), tool.major)


def test_a_recorded_program_is_trusted_for_its_major_and_older_servers(pg_restore):
    record = pg_restore.record()
    assert recorded_tool(record, pg_restore.major) == pg_restore
    assert recorded_tool(record, pg_restore.major - 1) == pg_restore
    assert recorded_tool(record, pg_restore.major + 1) is None  # too old for that server


def test_a_changed_or_missing_program_is_not_trusted(pg_restore):
    record = pg_restore.record()
    stat = os.stat(pg_restore.path)
    os.utime(pg_restore.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert recorded_tool(record, pg_restore.major) is None  # replaced by another build, say
    os.unlink(pg_restore.path)
    assert recorded_tool({**record, "mtime_ns": stat.st_mtime_ns + 1_000_000}, pg_restore.major) is None


@pytest.mark.parametrize("record", [None, "pg_restore", {}, {"path": 3}, {"path": "/bin/sh", "major": "x"}])
def test_a_malformed_record_is_not_trusted(record):
    assert recorded_tool(record, 13) is None
