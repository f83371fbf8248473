"""backup and restore: a backup taken before a destructive change brings everything back.

The backup is the one step every runbook relies on and nobody tries until it is needed.
The drill takes one with the backup task's function, destroys the data (downgrade to
base, the worst a bad deploy does), restores, and compares schema and every row.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from checks import generated_rows as rows
from checks.drills.workspace import at_head, passed
from checks.errors import ConfigError, MigrationError
from checks.recovery import revisions
from checks.recovery.backup import BackupError, backup, restore
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import diff_snapshots, take_snapshot
from harness.client_tools import client_tool
from harness.errors import HarnessError

NAME = "backup-restore"


def drill(run: Run) -> list[Finding]:
    """A backup that does not restore is found on the day it is the only copy."""
    try:
        client_tool("pg_dump", run.server.major)
        client_tool("pg_restore", run.server.major)
    except HarnessError as exc:
        # The machine lacks the client tools, not the project a backup: nothing to judge.
        return [Finding(Severity.INFO, "drill-backup-restore-not-run", f"{NAME} drill not run: {exc}")]
    with at_head(run, NAME) as space, tempfile.TemporaryDirectory(prefix="verify-drill-") as folder:
        with space.connect() as conn:
            rows.seed(conn, space.version_table)
            schema = take_snapshot(conn, version_table=space.version_table)
            data = rows.contents(conn, space.version_table)
            version = revisions.current(space.target, run.project)
        try:
            dump = backup(space.target, Path(folder), reason="drill")
            _destroy(run, space)
            restore(dump.path, space.target)
        except BackupError as exc:
            return [Finding(Severity.ERROR, "backup-does-not-restore",
                            f"{NAME} drill: {exc}", hint=_HINT)]
        with space.connect() as conn:
            schema_after = take_snapshot(conn, version_table=space.version_table)
            data_after = rows.contents(conn, space.version_table)
        version_after = revisions.current(space.target, run.project)
    problems = [d.message for d in diff_snapshots(schema, schema_after, expected_label="before the backup",
                                                  actual_label="restored")]
    problems += [f"rows of {table} differ after the restore" for table in sorted(data)
                 if data_after.get(table) != data[table]]
    if version_after != version:
        problems.append(f"the version table says {version_after}, not {version}")
    if problems:
        return [Finding(Severity.ERROR, "backup-restore-differs",
                        f"{NAME} drill: the restored database is not the one backed up: {problems[0]}"
                        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""), hint=_HINT)]
    total = sum(len(v) for v in data.values())
    return [passed(NAME, f"backup, downgrade to base, restore: schema, {total} row(s) in {len(data)} "
                         "table(s) and the version row came back identical")]


_HINT = ("pg_dump/pg_restore cannot round-trip this schema as it is; the usual cause is a function "
         "used by an index, CHECK or default that calls another object without its schema "
         "(pg_restore runs with an empty search_path): schema-qualify the names inside it, or "
         "give the function SET search_path")


def _destroy(run: Run, space) -> None:
    """Downgrade to base; a history that cannot go down loses its tables instead."""
    try:
        revisions.downgrade(run.project, space.target, "base")
    except (MigrationError, ConfigError):  # ConfigError: no version table to go down from
        with space.connect() as conn:
            for table in rows.tables(conn, space.version_table):
                conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
