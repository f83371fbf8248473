"""reset-db on the bundled example: nothing is dropped without --yes; with it, the
database holds exactly what the migrations build. (Backups, refusals and every other
recovery task: tests/recovery/.)"""

from __future__ import annotations

from cli_support import EXAMPLE, needs_example, run_cli


def _tables(pg_server, database: str) -> set[str]:
    with pg_server.connect(database) as conn:
        rows = conn.execute("SELECT relname FROM pg_class WHERE relkind = 'r' "
                            "AND relnamespace = 'public'::regnamespace").fetchall()
    return {r[0] for r in rows}


@needs_example
def test_reset_db_refuses_without_yes_then_rebuilds_from_migrations(pg_server, make_database, tmp_path):
    name = make_database("app_dev")
    with pg_server.connect(name) as conn:
        conn.execute("CREATE TABLE made_by_hand (id int); INSERT INTO made_by_hand VALUES (1), (2)")
    url = pg_server.url(name).render_as_string(hide_password=False)

    backups = ("--backups", str(tmp_path))
    refused = run_cli("reset-db", "--project", str(EXAMPLE), "--url", url, *backups)
    assert refused.code == 2, refused.stderr
    assert "--yes" in refused.stderr and "made_by_hand" not in refused.stderr
    assert _tables(pg_server, name) == {"made_by_hand"}, "nothing may be dropped without --yes"

    done = run_cli("reset-db", "--project", str(EXAMPLE), "--url", url, "--yes", *backups)
    assert done.code == 0, done.stdout + done.stderr
    assert "now at 0003" in done.stdout and f"backed up {name}" in done.stdout
    assert _tables(pg_server, name) == {"alembic_version", "customers", "orders"}
    with pg_server.connect(name) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003",)]


def test_reset_db_never_touches_the_system_database(pg_server):
    url = pg_server.url("postgres").render_as_string(hide_password=False)
    result = run_cli("reset-db", "--project", str(EXAMPLE), "--url", url, "--yes")
    assert result.code == 2
    assert "refusing to touch the system database" in result.stderr
