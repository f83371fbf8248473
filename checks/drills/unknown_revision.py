"""unknown revision: the version table names a revision no file declares.

The "Can't locate revision identified by X" incident: a revision file deleted or renamed
after it ran, or a branch applied here and never merged. Every `alembic upgrade` stops
until the version table is stamped with the revision the schema really is at; the
drill proves that doctor names that revision and that the stamp it prints repairs it.
"""

from __future__ import annotations

from psycopg import sql

from checks import generated_rows as rows
from checks.doctor.history import build_history
from checks.doctor.match import best_match
from checks.doctor.revision import locate
from checks.drills.workspace import at_revision, passed
from checks.errors import MigrationError
from checks.recovery import revisions
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import diff_snapshots, take_snapshot

NAME = "unknown-revision"
LOST = "0badc0ffee00"  # the id of a revision file nobody has any more


def drill(run: Run) -> list[Finding]:
    """Without it, the first time doctor's stamp is trusted is on the broken database itself."""
    history = build_history(run)
    order = history.order
    if not order:
        return [passed(NAME, "no revisions: nothing to lose")]
    # One revision behind head: the repair must also let the pending one apply.
    expected = order[-2] if len(order) > 1 else None
    expected_label = expected.revision if expected else "base"
    ignore = frozenset(run.project.settings.ignore)
    with at_revision(run, NAME, expected) as space, space.connect() as conn:
        rows.seed(conn, space.version_table)
        before = rows.counts(conn, space.version_table)
        _lose_version(conn, run)
        live = take_snapshot(conn, version_table=space.version_table)
        position = locate(run.project.script, order, (LOST,))
        if position.unknown != (LOST,):
            return [_failed("doctor does not see the version row as unknown", expected_label)]
        match = best_match(history, live, ignore)
        if match is None or not _same(history, match.revision, expected_label, ignore):
            named = match.revision if match else "nothing"
            return [_failed(f"doctor matched the schema to {named}, not {expected_label}", expected_label)]
        try:
            revisions.stamp(run.project, space.target, match.revision)
            applied = revisions.upgrade(run.project, space.target)
        except MigrationError as exc:
            return [_failed(f"after the stamp, upgrade of {exc.revision} failed: {exc.db_error}",
                            expected_label, revision=exc.revision)]
        heads = sorted(run.project.script.get_heads())
        now = revisions.current(space.target, run.project)
        lost = rows.lost(before, rows.counts(conn, space.version_table))
    if now != heads:
        return [_failed(f"after stamp and upgrade the database is at {now}, not the heads {heads}",
                        expected_label)]
    if lost:
        return [Finding(Severity.ERROR, "drill-rows-lost",
                        f"{NAME} drill: stamp and upgrade lost rows in {', '.join(lost)}")]
    return [passed(NAME, f"doctor matched the schema to {match.revision}; `stamp {match.revision}` "
                         f"then `upgrade` applied {len(applied)} revision(s) with every row kept")]


def _same(history, label: str, expected: str, ignore: frozenset[str]) -> bool:
    """Equal schemas, as doctor sees them: objects the settings ignore cannot tell revisions apart."""
    found, wanted = history.states.get(label), history.states.get(expected)
    if found is None or wanted is None:
        return False
    return found == wanted or not diff_snapshots(wanted, found, ignore=ignore)


def _lose_version(conn, run: Run) -> None:
    schema = run.project.captured.options.get("version_table_schema")
    table = sql.Identifier(schema, run.version_table) if schema else sql.Identifier(run.version_table)
    # At base nothing has written the table yet; Alembic's own shape.
    conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (version_num varchar(32) NOT NULL PRIMARY KEY)")
                 .format(table))
    conn.execute(sql.SQL("DELETE FROM {}").format(table))
    conn.execute(sql.SQL("INSERT INTO {} (version_num) VALUES (%s)").format(table), (LOST,))


def _failed(what: str, expected: str, revision: str | None = None) -> Finding:
    return Finding(Severity.ERROR, "drill-unknown-revision",
                   f"{NAME} drill: a database at {expected} whose version table names a deleted "
                   f"revision cannot be repaired as documented: {what}", revision=revision or expected,
                   hint="run `python -m checks doctor --url ...` on such a database to see the "
                        "diagnosis; until this drill passes, repair by hand")
