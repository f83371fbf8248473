"""doctor: a read-only diagnosis of a real database, and the stamp it prints repairs it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid

import pytest
from cli_support import EXAMPLE, needs_example, run_cli
from projects import CREATE_ITEMS, DROP_ITEMS, FIXTURE_DRIVER, Rev, assert_usage_error, build_project

MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False),
                 sa.Column("price", sa.Integer))
orders = sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True))
"""
REVISIONS = [
    Rev("0001", None, CREATE_ITEMS, DROP_ITEMS),
    Rev("0002", "0001", 'op.add_column("items", sa.Column("price", sa.Integer))',
        'op.drop_column("items", "price")'),
    Rev("0003", "0002", 'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))',
        'op.drop_table("orders")'),
]


@pytest.fixture
def project(tmp_path):
    # env.py reads DATABASE_URL, so the test migrates its "real" database with plain alembic.
    return build_project(tmp_path / "proj", REVISIONS, models=MODELS, env="database_url")


@pytest.fixture
def doctor(pg_server, tmp_path):
    server_url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)

    def run(project, url, *extra):
        return run_cli("doctor", "--project", str(project), "--url", url, "--server-url", server_url,
                       *extra, report=tmp_path / "doctor.json")

    return run


def _alembic(project, url, *argv):
    """The alembic command line in the project's folder, as the developer would type it."""
    proc = subprocess.run([sys.executable, "-m", "alembic", *argv], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "DATABASE_URL": url}, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _migrated(pg_server, make_database, project, revision, *statements):
    """A new "real" database upgraded to `revision` with plain alembic, then altered by hand: (name, url)."""
    name = make_database("app_dev")
    url = _url(pg_server, name)
    _alembic(project, url, "upgrade", revision)
    with pg_server.connect(name) as conn:
        for statement in statements:
            conn.execute(statement)
    return name, url


def _url(pg_server, database, user=None, password=None):
    # The driver the fixture's SQLAlchemy has: alembic itself runs the project with it.
    url = pg_server.url(database).set(drivername=FIXTURE_DRIVER)
    if user:
        url = url.set(username=user, password=password)
    return url.render_as_string(hide_password=False)


def _codes(result, section):
    return [f["code"] for f in result.findings(section)]


def test_clean_database_is_healthy(pg_server, make_database, project, doctor):
    url = _url(pg_server, make_database("app_dev"))
    _alembic(project, url, "upgrade", "head")
    result = doctor(project, url)
    assert result.code == 0, result.stdout + result.stderr
    assert "doctor: healthy" in result.stdout
    assert {s["name"]: s["status"] for s in result.report["stages"]} == \
        {"revision": "pass", "migrations": "pass", "models": "pass"}
    assert _codes(result, "revision") == ["up-to-date"]


def _run_printed(hint: str, url: str, tmp_path) -> None:
    """The command a fix line prints, as typed: its --url filled in with the password."""
    words = shlex.split(hint.split(" (")[0])
    assert words[0] == "invoke", hint
    words[words.index("--url") + 1] = url
    done = run_cli(*words[1:], "--yes", "--backups", str(tmp_path / "backups"))
    assert done.code == 0, done.stdout + done.stderr


def test_dirty_database_is_named_and_the_printed_stamp_repairs_it(pg_server, make_database, project, doctor,
                                                                  tmp_path):
    name = make_database("app_dev")
    url = _url(pg_server, name)
    _alembic(project, url, "upgrade", "0002")
    with pg_server.connect(name) as conn:
        conn.execute("CREATE TABLE legacy_notes (id int PRIMARY KEY, body text)")
        conn.execute("ALTER TABLE items ADD COLUMN legacy_flag boolean")
        conn.execute("UPDATE alembic_version SET version_num = 'feedbeef0042'")

    first = doctor(project, url)
    assert first.code == 1, first.stdout + first.stderr
    unknown = first.findings("revision", "unknown-revision")
    assert [f["revision"] for f in unknown] == ["feedbeef0042"], first.stdout
    matched = first.findings("match", "schema-matches")
    assert matched and matched[0]["revision"] == "0002", first.stdout
    stamp = matched[0]["hint"]
    # The task that backs up first, on the database doctor read (the password hidden), not `alembic stamp`.
    assert stamp.startswith(f"invoke stamp 0002 --project {project} --url "), stamp
    assert ":***@" in stamp and "(backs up first" in stamp and "doctor --fix" in stamp, stamp
    assert "legacy_notes" in " ".join(f["message"] for f in first.findings("match", "match-difference"))
    models = {f["code"]: [] for f in first.findings("models")}
    for f in first.findings("models"):
        models[f["code"]].append(f["object"])
    assert "table orders" in " ".join(models["missing-in-database"]), first.stdout
    assert {"table legacy_notes", "items.legacy_flag"} <= set(models["not-in-models"]), first.stdout
    with pg_server.connect(name) as conn:  # doctor wrote nothing
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("feedbeef0042",)]

    _run_printed(stamp, url, tmp_path)

    second = doctor(project, url)
    assert second.code == 1, second.stdout + second.stderr
    assert "unknown-revision" not in _codes(second, "revision")
    pending = second.findings("revision", "pending")
    assert [f["revision"] for f in pending] == ["0003"], second.stdout
    assert "A fixture revision" in pending[0]["message"]
    handmade = second.findings("migrations", "made-by-hand")
    assert {f["object"] for f in handmade} == {"table legacy_notes", "items.legacy_flag"}, second.stdout

    _alembic(project, url, "upgrade", "head")
    third = doctor(project, url)
    assert _codes(third, "revision") == ["up-to-date"], third.stdout


def test_runs_as_a_role_that_can_only_read(pg_server, make_database, project, doctor):
    name = make_database("app_prod")
    url = _url(pg_server, name)
    _alembic(project, url, "upgrade", "head")
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with pg_server.connect(name) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'reader-secret'")
        conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO {role}')
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        result = doctor(project, _url(pg_server, name, role, "reader-secret"))
        assert result.code == 0, result.stdout + result.stderr
        assert "doctor: healthy" in result.stdout
        assert "reader-secret" not in result.stdout + result.stderr
        with pg_server.connect(name) as conn:
            conn.execute(f"REVOKE SELECT ON alembic_version FROM {role}")
        refused = doctor(project, _url(pg_server, name, role, "reader-secret"))
        assert_usage_error(refused, "permission denied", "SELECT on alembic_version",
                           secrets=("reader-secret",))
    finally:
        with pg_server.connect(name) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_unreachable_database_is_one_line_with_the_password_masked(project, doctor):
    result = doctor(project, "postgresql://app:hunter2-secret@127.0.0.1:9/app_dev")
    assert_usage_error(result, "cannot connect", "127.0.0.1:9", secrets=("hunter2-secret",))


def test_no_project_is_one_line(tmp_path, doctor):
    result = doctor(tmp_path / "nowhere", "postgresql://app@127.0.0.1:9/app_dev")
    assert_usage_error(result, "project directory not found")


def test_no_version_table_names_the_matching_revision_and_a_plain_stamp(pg_server, make_database,
                                                                        project, doctor):
    _, url = _migrated(pg_server, make_database, project, "0002", "DROP TABLE alembic_version")
    result = doctor(project, url)
    assert result.code == 1, result.stdout + result.stderr
    assert "no-version-table" in _codes(result, "revision")
    matched = result.findings("match", "schema-matches")[0]
    assert matched["revision"] == "0002" and matched["hint"].startswith("invoke stamp 0002 "), result.stdout
    _alembic(project, url, "stamp", "0002")
    assert [f["revision"] for f in doctor(project, url).findings("revision", "pending")] == ["0003"]


def test_an_empty_database_says_upgrade(pg_server, make_database, project, doctor):
    result = doctor(project, _url(pg_server, make_database("app_dev")))
    assert result.code == 1
    assert _codes(result, "match") == ["empty-database"], result.stdout


def test_without_url_it_diagnoses_what_the_project_is_configured_for(pg_server, make_database, tmp_path):
    name = make_database("app_dev")
    url = _url(pg_server, name)
    placeholder = build_project(tmp_path / "placeholder", REVISIONS, models=MODELS, env="database_url")
    ini = placeholder / "alembic.ini"
    ini.write_text(ini.read_text().replace(
        next(line for line in ini.read_text().splitlines() if line.startswith("sqlalchemy.url")),
        "sqlalchemy.url = driver://user:pass@localhost/dbname"))
    _alembic(placeholder, url, "upgrade", "head")
    server = _url(pg_server, pg_server.endpoint.maintenance_db)
    from_env = run_cli("doctor", "--project", str(placeholder), "--server-url", server,
                       report=tmp_path / "a.json", env={"DATABASE_URL": url})
    assert from_env.code == 0, from_env.stdout + from_env.stderr
    assert from_env.report["database_source"] == "DATABASE_URL"
    assert from_env.report["database"].endswith(f"/{name}")

    configured = build_project(tmp_path / "configured", REVISIONS, models=MODELS, env="sync_template")
    ini = configured / "alembic.ini"
    ini.write_text(ini.read_text().replace(f"{FIXTURE_DRIVER}://nobody@unreachable.invalid/none",
                                           url.replace("%", "%%")))
    from_ini = run_cli("doctor", "--project", str(configured), "--server-url", server,
                       report=tmp_path / "b.json")
    assert from_ini.code == 0, from_ini.stdout + from_ini.stderr
    assert from_ini.report["database_source"] == "sqlalchemy.url in alembic.ini"


def test_the_session_cannot_write(pg_server, make_database):
    import psycopg
    from sqlalchemy.engine import make_url

    from checks.doctor.target import Target, connect

    target = Target(make_url(_url(pg_server, make_database("app_dev"))), "--url")
    with connect(target) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("CREATE TABLE written (id int)")


@pytest.mark.parametrize(("at", "other"), [("0002a", "0002b"), ("0002b", "0002a")])
def test_a_database_on_one_branch_lists_the_other_as_pending(pg_server, make_database, tmp_path, doctor,
                                                             at, other):
    """Whichever branch the one-at-a-time build applies first, the schema at the other is built too."""
    branched = build_project(tmp_path / "branched", [
        Rev("0001", None, CREATE_ITEMS, DROP_ITEMS),
        Rev("0002a", "0001", 'op.add_column("items", sa.Column("price", sa.Integer))',
            'op.drop_column("items", "price")'),
        Rev("0002b", "0001", 'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))',
            'op.drop_table("orders")'),
    ], models=MODELS, env="database_url")
    url = _url(pg_server, make_database("app_dev"))
    _alembic(branched, url, "upgrade", at)
    result = doctor(branched, url)
    assert result.code == 1, result.stdout + result.stderr
    assert "multiple-heads" in _codes(result, "revision")
    assert [f["revision"] for f in result.findings("revision", "pending")] == [other], result.stdout
    assert _codes(result, "migrations") == ["as-migrated"], result.stdout


@needs_example
def test_the_bundled_example_migrated_to_head_is_healthy(pg_server, make_database, doctor):
    url = _url(pg_server, make_database("app_dev"))
    built = run_cli("reset-db", "--project", str(EXAMPLE), "--url", url, "--yes")
    assert built.code == 0, built.stdout + built.stderr
    result = doctor(EXAMPLE, url)
    assert result.code == 0, result.stdout + result.stderr
    assert "doctor: healthy" in result.stdout


def test_fix_runs_the_printed_stamp_after_a_backup(pg_server, make_database, project, doctor, tmp_path):
    name = make_database("app_dev")
    url = _url(pg_server, name)
    _alembic(project, url, "upgrade", "0002")
    with pg_server.connect(name) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'feedbeef0042'")

    refused = doctor(project, url, "--fix")  # no terminal, no --yes: refuses, changes nothing
    assert refused.code == 2, refused.stdout + refused.stderr
    fixed = doctor(project, url, "--fix", "--yes", "--backups", str(tmp_path / "backups"))
    assert fixed.code == 0, fixed.stdout + fixed.stderr
    # It writes to the database: the first line must not promise otherwise.
    header = fixed.stdout.splitlines()[0]
    assert "read-only" not in header and "--fix stamps it" in header, header
    assert "read-only" in doctor(project, url).stdout.splitlines()[0]
    with pg_server.connect(name) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
    assert list((tmp_path / "backups").glob("*.dump")), "a backup was taken before the stamp"
    assert _codes(doctor(project, url), "revision") == ["behind", "pending"]


def test_revisions_with_the_same_schema_name_the_earliest_and_say_what_each_is(pg_server, make_database,
                                                                               tmp_path, doctor):
    # After 0001, 0002 and 0003 the schema is the same: the schema proves only 0001 ran.
    project = build_project(tmp_path / "proj", [
        Rev("0001", None, CREATE_ITEMS, DROP_ITEMS),
        Rev("0002", "0001", "op.execute(\"INSERT INTO items (name) VALUES ('first')\")",
            'op.execute("DELETE FROM items")'),
        Rev("0003", "0002"),
        Rev("0004", "0003", 'op.add_column("items", sa.Column("price", sa.Integer))',
            'op.drop_column("items", "price")'),
    ], models=MODELS, env="database_url")
    name, url = _migrated(pg_server, make_database, project, "0003",
                          "UPDATE alembic_version SET version_num = 'feedbeef0042'")
    result = doctor(project, url)
    [matched] = result.findings("match", "schema-matches")
    assert matched["revision"] == "0001" and matched["hint"].startswith("invoke stamp 0001 "), result.stdout
    [ties] = result.findings("match", "schema-ties")
    assert "0002 (changes data only" in ties["message"] and "0003 (empty" in ties["message"], ties
    assert "0001 (" not in ties["message"] and "invoke stamp 0003 " in ties["message"], ties

    # As close, but not the same schema: not called identical, nor data only.
    with pg_server.connect(name) as conn:
        conn.execute("ALTER TABLE items ADD COLUMN price text")
    result = doctor(project, url)
    [matched] = result.findings("match", "schema-matches")
    assert matched["revision"] == "0004", result.stdout
    [ties] = result.findings("match", "schema-ties")
    assert "identical" not in ties["message"] and "data only" not in ties["message"], ties
    assert "0003" in ties["message"] and "as close" in ties["message"], ties


def test_a_lock_timeout_is_reported_as_one_naming_its_holder(pg_server, make_database, project, doctor):
    """Not as a missing privilege: the fix is to end the other transaction, not to grant anything."""
    import psycopg

    name, url = _migrated(pg_server, make_database, project, "head")
    ep = pg_server.endpoint
    holder = psycopg.connect(host=ep.host, port=ep.port, user=ep.user, password=ep.password, dbname=name,
                             application_name="nightly-backfill")
    pid = holder.info.backend_pid
    try:
        holder.execute("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
        result = doctor(project, url)
    finally:
        holder.close()
    line = assert_usage_error(result, "lock timeout", f"pid {pid}", f"role {ep.user}",
                              "application nightly-backfill", "ACCESS EXCLUSIVE lock on alembic_version",
                              "idle in transaction")
    assert "SELECT on" not in line and "permission" not in line, line


def test_hand_made_objects_get_the_migration_that_keeps_their_rows(pg_server, make_database, project, doctor,
                                                                    tmp_path):
    """Not reset-db, which throws every row away: the printed revision adopts what was made by
    hand and records what was dropped; stamping it leaves the data where it is."""
    import re

    name, url = _migrated(pg_server, make_database, project, "head",
                          "CREATE TABLE legacy_notes (id bigint PRIMARY KEY, body text NOT NULL, "
                          "seen timestamp with time zone DEFAULT now(), code character varying(12))",
                          "INSERT INTO legacy_notes (id, body) VALUES (1, 'keep me')",
                          "ALTER TABLE items ADD COLUMN legacy_flag boolean",
                          "ALTER TABLE items DROP COLUMN price")
    result = doctor(project, url)
    hints = {f["object"]: f["hint"] for f in result.findings("migrations")}
    ops = {obj: re.search(r"whose upgrade\(\) is (op\..*?\)); this database", hint).group(1)
           for obj, hint in hints.items()}
    assert ops == {
        # The snapshot keeps columns by name, not by position.
        "table legacy_notes": "op.create_table('legacy_notes', sa.Column('body', sa.TEXT(), nullable=False), "
                              "sa.Column('code', sa.VARCHAR(12)), "
                              "sa.Column('id', sa.BIGINT(), autoincrement=False, nullable=False), "
                              "sa.Column('seen', sa.TIMESTAMP(timezone=True), "
                              "server_default=sa.text('now()')), "
                              "sa.PrimaryKeyConstraint('id'))",
        "items.legacy_flag": "op.add_column('items', sa.Column('legacy_flag', sa.BOOLEAN()))",
        "items.price": "op.drop_column('items', 'price')",
    }, result.stdout
    assert "invoke stamp <the new revision>" in hints["table legacy_notes"]

    # The revision as printed: the history builds it on the throwaway server, the database is stamped.
    (project / "migrations" / "versions" / "0004_revision.py").write_text(
        Rev("0004", "0003", "\n".join(ops.values())).source())
    stamped = run_cli("stamp", "0004", "--project", str(project), "--url", url, "--yes",
                      "--backups", str(tmp_path / "backups"))
    assert stamped.code == 0, stamped.stdout + stamped.stderr
    after = doctor(project, url)
    assert _codes(after, "revision") == ["up-to-date"] and _codes(after, "migrations") == ["as-migrated"], \
        after.stdout
    with pg_server.connect(name) as conn:
        assert conn.execute("SELECT id, body FROM legacy_notes").fetchall() == [(1, "keep me")]
