"""squash writes a base revision that builds the history's schema, and verify --squash-check proves it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cli_support import EXAMPLE, ROOT, needs_example, run_cli, verify_before_a_server, without_git
from projects import Rev, assert_clean, assert_usage_error, build_project

from checks.bench.project import generate
from checks.schema_access import snapshot_of

# An enum, a server default with a colon in it (text() would read ":none" as a bind
# parameter), a CHECK, an index, a view, a plpgsql function (":=" and a "%" in its body), a
# trigger and a row-level security policy.
MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
mood = sa.Enum("calm", "busy", "late", name="mood")
tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("mood", mood, nullable=False, server_default="calm"),
    sa.Column("note", sa.Text, server_default=":none"),
    sa.Column("priority", sa.Integer, nullable=False, server_default="1"),
    sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("priority > 0", name="ck_tasks_priority_positive"),
    sa.Index("ix_tasks_priority", "priority"),
)
"""
HISTORY = [
    Rev("0001", None, """
        op.create_table("tasks", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("title", sa.Text, nullable=False),
                        sa.Column("mood", sa.Enum("calm", "busy", "late", name="mood"), nullable=False,
                                  server_default="calm"))
        """, """
        op.drop_table("tasks")
        op.execute("DROP TYPE mood")
        """),
    Rev("0002", "0001", """
        op.add_column("tasks", sa.Column("note", sa.Text, server_default=":none"))
        op.add_column("tasks", sa.Column("priority", sa.Integer, nullable=False, server_default="1"))
        op.create_check_constraint("ck_tasks_priority_positive", "tasks", "priority > 0")
        op.create_index("ix_tasks_priority", "tasks", ["priority"])
        """, """
        op.drop_index("ix_tasks_priority", "tasks")
        op.drop_constraint("ck_tasks_priority_positive", "tasks")
        op.drop_column("tasks", "priority")
        op.drop_column("tasks", "note")
        """),
    Rev("0003", "0002", """
        op.execute("CREATE VIEW busy_tasks AS SELECT id, title FROM tasks WHERE mood = 'busy'")
        op.execute('''CREATE FUNCTION task_count() RETURNS integer LANGUAGE plpgsql AS $$
        DECLARE n integer;
        BEGIN
            n := (SELECT count(*) FROM tasks);
            RAISE NOTICE 'counted % tasks', n;
            RETURN n;
        END $$''')
        op.execute('''CREATE FUNCTION tasks_title_trimmed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.title := btrim(NEW.title); RETURN NEW; END $$''')
        op.execute("CREATE TRIGGER tasks_trim BEFORE INSERT OR UPDATE ON tasks "
                   "FOR EACH ROW EXECUTE FUNCTION tasks_title_trimmed()")
        op.execute("ALTER TABLE tasks ENABLE ROW LEVEL SECURITY")
        op.execute("CREATE POLICY tasks_not_late ON tasks USING (mood <> 'late')")
        """, """
        op.execute("DROP POLICY tasks_not_late ON tasks")
        op.execute("ALTER TABLE tasks DISABLE ROW LEVEL SECURITY")
        op.execute("DROP TRIGGER tasks_trim ON tasks")
        op.execute("DROP FUNCTION tasks_title_trimmed()")
        op.execute("DROP FUNCTION task_count()")
        op.execute("DROP VIEW busy_tasks")
        """),
    # Rows only: a database at 0003 already has the schema of 0004.
    Rev("0004", "0003", """op.execute("INSERT INTO tasks (title) VALUES ('first')")""",
        """op.execute("DELETE FROM tasks WHERE title = 'first'")"""),
    Rev("0005", "0004", """
        op.add_column("tasks", sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()))
        """, 'op.drop_column("tasks", "done")'),
]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def _commit(repo: Path, message: str) -> None:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)


def _committed_squash(project: Path, url: str, point: str):
    """Commit the history in a git repository of its own, squash it to `point` and commit that."""
    _git(project, "init", "-q", "-b", "main")
    _commit(project, "history")
    squashed = run_cli("squash", "--to", point, "--project", str(project), "--yes", url=url)
    assert squashed.code == 0, squashed.stdout + squashed.stderr
    _commit(project, "squash")
    return squashed


@pytest.fixture
def url(pg_server) -> str:
    return pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)


@pytest.fixture
def project(tmp_path) -> Path:
    """The fixture history, committed in a git repository of its own."""
    root = build_project(tmp_path / "project", HISTORY, models=MODELS)
    _git(root, "init", "-q", "-b", "main")
    _commit(root, "history")
    return root


def _squash(project: Path, url: str, *extra: str, env: dict | None = None):
    return run_cli("squash", "--to", "0004", "--project", str(project), *extra, url=url, env=env)


def test_squash_moves_the_old_files_and_the_base_builds_the_same_schema(project, url, verify):
    versions = project / "migrations" / "versions"
    before = {path.name: path.read_text() for path in versions.glob("*.py")}

    squashed = _squash(project, url, "--yes")

    assert squashed.code == 0, squashed.stdout + squashed.stderr
    # 0004's seed row is data, not schema: the base does not insert it, and says so.
    assert "the history leaves rows in tasks (1)" in squashed.stdout
    archive = project / "migrations" / "_squashed" / "0004"
    # Moved, never deleted: every old file is in the archive as it was.
    assert {path.name: path.read_text() for path in archive.glob("*.py")} == \
        {name: text for name, text in before.items() if name != "0005_revision.py"}
    assert sorted(path.name for path in versions.glob("*.py")) == ["0004_revision.py", "0005_revision.py"]
    base = (versions / "0004_revision.py").read_text()
    assert "revision = '0004'" in base and "down_revision = None" in base
    assert (versions / "0005_revision.py").read_text() == before["0005_revision.py"]  # nothing to rewire
    # The lines it prints commit exactly the squash.
    lines = [line.strip() for line in squashed.stdout.splitlines() if line.strip().startswith("git ")]
    assert lines == ["git rm --cached --quiet -- migrations/versions/0001_revision.py "
                     "migrations/versions/0002_revision.py migrations/versions/0003_revision.py",
                     "git add -- migrations/versions/0004_revision.py migrations/_squashed/0004"]
    for line in lines:
        _git(project, *shlex.split(line)[1:])
    _git(project, "commit", "-q", "-m", "squash")
    assert _git(project, "status", "--porcelain", "--untracked-files=all") == ""

    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1")

    assert_clean(proved)
    assert proved.stage("squash")["status"] == "pass", proved.stdout
    assert proved.stage("squash")["summary"] == (
        "the base 0004 builds the schema of HEAD~1's history at 0004 (4 revisions); a database at 0003: "
        "alembic stamp --purge 0004; at 0001, 0002: upgrade with the old history to 0004 first (-v lists "
        "each)"), proved.stdout
    plan = {f["revision"]: f["message"] for f in proved.findings("squash", "stamp-plan")}
    assert "alembic stamp --purge 0004" in plan["0003"]
    assert "upgrade with the old history to 0004 first" in plan["0001"]
    assert "upgrade with the old history to 0004 first" in plan["0002"]


@pytest.mark.parametrize(("written", "edited", "named"), [
    ("note text DEFAULT ':none'::text", "note text", "tasks.note"),
    ("'calm',\n    'busy',", "'busy',\n    'calm',", "mood"),
    ("CREATE TRIGGER tasks_trim BEFORE INSERT OR UPDATE", "CREATE TRIGGER tasks_trim BEFORE INSERT",
     "tasks_trim"),
    ("CONSTRAINT ck_tasks_priority_positive CHECK ((priority > 0))",
     "CONSTRAINT ck_tasks_priority_positive CHECK ((priority >= 0))", "ck_tasks_priority_positive"),
], ids=["server-default", "enum-order", "trigger", "check"])
def test_a_base_edited_by_hand_fails_naming_the_object(project, url, verify, written, edited, named):
    assert _squash(project, url, "--yes").code == 0
    base = project / "migrations" / "versions" / "0004_revision.py"
    text = base.read_text()
    assert text.count(written) == 1, text
    base.write_text(text.replace(written, edited))
    _commit(project, "squash, edited by hand")

    proved = verify(project, "--quiet-progress", "--stage", "squash", "--squash-check", "HEAD~1")

    assert proved.code == 1, proved.stdout
    [difference] = proved.findings("squash", "squash-differs")
    assert named in difference["object"] and difference["revision"] == "0004", difference
    assert "HEAD~1 at 0004" in difference["message"] and "the squashed base" in difference["message"]


def _url(pg_server, database: str) -> str:
    return pg_server.url(database).render_as_string(hide_password=False)


def test_stamp_plan_commands_bring_an_old_database_onto_the_base(project, url, pg_server, make_database,
                                                                 tmp_path):
    old = shutil.copytree(project, tmp_path / "old-checkout")
    database, behind = make_database("squash-stamp"), make_database("squash-behind")
    db_url = _url(pg_server, database)
    assert run_cli("upgrade", "0003", "--project", str(project), "--url", db_url).code == 0
    assert run_cli("upgrade", "0002", "--project", str(project), "--url", _url(pg_server, behind)).code == 0
    assert _squash(project, url, "--yes").code == 0
    with pg_server.connect(database) as conn:
        at_0003 = snapshot_of(conn)

    # The plan's command for a database at 0003, then the squashed history onward.
    stamped = run_cli("stamp", "0004", "--project", str(project), "--url", db_url, "--yes",
                      "--backups", str(project.parent / "backups"))
    assert stamped.code == 0, stamped.stdout + stamped.stderr
    assert run_cli("upgrade", "--project", str(project), "--url", db_url).code == 0

    # The plan for a database at 0002: the old history up to 0004, then the squashed one.
    assert run_cli("upgrade", "0004", "--project", str(old), "--url", _url(pg_server, behind)).code == 0
    assert run_cli("upgrade", "--project", str(project), "--url", _url(pg_server, behind)).code == 0

    fresh = make_database("squash-fresh")
    assert run_cli("upgrade", "--project", str(project), "--url", _url(pg_server, fresh)).code == 0
    with pg_server.connect(fresh) as new:
        expected = snapshot_of(new)
    assert expected != at_0003
    for name in (database, behind):
        with pg_server.connect(name) as conn:
            assert snapshot_of(conn) == expected, name
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0005",)]


def test_without_yes_in_ci_nothing_is_written(project, url):
    versions = project / "migrations" / "versions"
    before = sorted(path.name for path in versions.glob("*.py"))

    refused = _squash(project, url, env={"CI": "true"})

    assert_usage_error(refused, "squash: refusing to", "--yes")
    assert sorted(path.name for path in versions.glob("*.py")) == before
    assert not (project / "migrations" / "_squashed").exists()


def test_invoke_squash_reaches_the_command(project):
    refused = subprocess.run([sys.executable, "-m", "invoke", "squash", "--to", "0004", "--project",
                              str(project)], capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "CI": "true"})

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "squash: refusing to replace 4 revision files with one base revision 0004 in CI" in refused.stderr
    assert not (project / "migrations" / "_squashed").exists()


def test_a_revision_that_stands_on_a_squashed_one_is_refused(tmp_path, url):
    history = [*HISTORY[:4], Rev("0005", ("0004", "0002"), "pass")]
    project = build_project(tmp_path / "branchy", history, models=MODELS)

    refused = run_cli("squash", "--to", "0004", "--project", str(project), "--yes", url=url)

    assert_usage_error(refused, "0005", "stands on 0002")


def test_the_base_makes_the_roles_its_grants_and_owners_name_where_missing(tmp_path, url, pg_server, verify):
    reader = f"squash_reader_{uuid.uuid4().hex[:8]}"
    grants = Rev("0003", "0002", f"""
        op.execute("DO $$ BEGIN CREATE ROLE {reader} NOLOGIN; "
                   "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
        op.execute("GRANT SELECT ON tasks TO {reader}")
        op.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {reader}")
        op.execute("CREATE FUNCTION readers_count() RETURNS integer LANGUAGE sql AS 'SELECT 1'")
        op.execute("ALTER FUNCTION readers_count() OWNER TO {reader}")
        """, f"""
        op.execute("DROP FUNCTION readers_count()")
        op.execute("ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM {reader}")
        op.execute("REVOKE SELECT ON tasks FROM {reader}")
        """)
    project = build_project(tmp_path / "granting", [*HISTORY[:2], grants, *HISTORY[3:]], models=MODELS)
    _git(project, "init", "-q", "-b", "main")
    _commit(project, "history")
    try:
        assert _squash(project, url, "--yes").code == 0
        base = (project / "migrations" / "versions" / "0004_revision.py").read_text()
        assert f"CREATE ROLE {reader} NOLOGIN" in base
        # As whoever runs it, not as the role that built the history here.
        assert f"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES  TO {reader}" in base, base
        # The owner a revision gave; the builder's own objects stay whoever runs the base's.
        assert f"ALTER FUNCTION public.readers_count() OWNER TO {reader}" in base, base
        assert "OWNER TO verify" not in base and "OWNER TO postgres" not in base, base
        _commit(project, "squash")
        with pg_server.connect(pg_server.endpoint.maintenance_db) as conn:
            conn.execute(f"DROP ROLE {reader}")  # the history made it here; a new server lacks it

        proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1")

        assert_clean(proved)
        assert proved.stage("squash")["status"] == "pass", proved.stdout
    finally:
        with pg_server.connect(pg_server.endpoint.maintenance_db) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {reader}")


@pytest.mark.parametrize(("extra", "fragments"), [
    (("--to", "9999"), ("--to 9999: no such revision", "python -m checks history")),
    (("--to", "0001"), ("it is the first revision", "nothing to squash")),
    (("--to", "0004", "--archive", "{project}/migrations/versions/old"), ("inside the version location",)),
    (("--to", "0004", "--archive", "{project}/alembic.ini/old"), ("alembic.ini is a file, not a folder",)),
], ids=["unknown", "first", "archive-inside-versions", "archive-under-a-file"])
def test_a_squash_that_cannot_be_is_refused_before_anything_is_built(project, extra, fragments):
    # --backend url without --url fails only once a server is opened: the refusal comes first.
    extra = [arg.format(project=project) for arg in extra]
    refused = run_cli("squash", *extra, "--project", str(project), "--yes", "--backend", "url")

    assert_usage_error(refused, *fragments)
    assert not (project / "migrations" / "_squashed").exists()
    assert _git(project, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_squash_stage_needs_the_commit_before_the_squash(project, verify):
    result = verify(project, "--quiet-progress", "--stage", "squash")

    assert_usage_error(result, "--squash-check REF")


def test_squash_check_on_a_commit_without_a_squash_says_there_is_none(project, verify):
    result = verify(project, "--quiet-progress", "--squash-check", "HEAD")

    assert result.code == 1, result.stdout
    [finding] = result.findings("squash", "no-squash-point")
    assert "0001" in finding["message"] and "no squash to check" in finding["message"], finding


def test_squash_check_outside_git_is_one_line(tmp_path, verify):
    project = build_project(tmp_path / "no-git", HISTORY, models=MODELS)

    result = verify(project, "--quiet-progress", "--stage", "squash", "--squash-check", "HEAD~1")

    assert_usage_error(result, "--squash-check", "not inside a git repository")
    assert "server:" not in result.stdout, result.stdout


@pytest.mark.parametrize(("reference", "no_git", "fragments"), [
    ("HEAD~1", False, ("--squash-check: no commit named 'HEAD~1'", "name the commit before the squash")),
    ("HEAD", True, ("--squash-check", "git, which is not on PATH", "install git")),
], ids=["unknown", "git-missing"])
def test_squash_check_of_no_commit_is_refused_before_any_server_starts(project, tmp_path, reference,
                                                                          no_git, fragments):
    # The fixture's repository has one commit: there is no HEAD~1.
    result = verify_before_a_server(project, "--squash-check", reference,
                                    env=without_git(tmp_path) if no_git else None)

    assert_usage_error(result, *fragments)


@needs_example
def test_the_bundled_example_squashes_and_still_passes(tmp_path, url, verify):
    project = shutil.copytree(EXAMPLE, tmp_path / "example",
                              ignore=shutil.ignore_patterns(".alembic-preflight", "__pycache__"))
    _committed_squash(project, url, "0003")

    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1")

    assert_clean(proved)
    assert proved.stage("squash")["status"] == "pass", proved.stdout


def test_a_locked_history_is_relocked_with_the_line_squash_prints(project, url, verify):
    assert run_cli("lock", "--project", str(project)).code == 0

    squashed = _squash(project, url, "--yes")

    assert squashed.code == 0, squashed.stdout + squashed.stderr
    [relock] = [line.strip() for line in squashed.stdout.splitlines() if "checks lock" in line]
    assert relock == "python -m checks lock --relock 0004"
    assert verify(project, "--stage", "files").stage("files")["status"] == "fail"  # until relocked
    relocked = run_cli(*shlex.split(relock)[3:], "--project", str(project))
    assert relocked.code == 0, relocked.stdout
    assert "forgotten (no file declares them any more; squashed?): 0001, 0002, 0003" in relocked.stdout
    assert verify(project, "--stage", "files").stage("files")["status"] == "pass"


def test_a_history_that_does_not_build_is_not_squashed(tmp_path, url):
    broken = Rev("0002", "0001", 'op.execute("ALTER TABLE no_such_table ADD COLUMN x integer")')
    project = build_project(tmp_path / "broken", [HISTORY[0], broken, Rev("0003", "0002")], models=MODELS)
    versions = sorted(path.name for path in (project / "migrations" / "versions").glob("*.py"))

    failed = run_cli("squash", "--to", "0003", "--project", str(project), "--yes", url=url)

    assert failed.code == 1, failed.stdout + failed.stderr
    assert failed.stderr.startswith("failed: the history does not build up to 0003: upgrade of 0002 failed")
    assert "no_such_table" in failed.stderr and "Traceback" not in failed.stderr
    assert sorted(path.name for path in (project / "migrations" / "versions").glob("*.py")) == versions
    assert not (project / "migrations" / "_squashed").exists()


# Tables a bootstrap hook makes before the first revision (as an app's create_all does),
# one of which the history then changes.
BOOTSTRAP = """\
import sqlalchemy as sa


def create_tables(connection):
    metadata = sa.MetaData()
    sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.Text, nullable=False))
    sa.Table("labels", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id")))
    metadata.create_all(connection)
"""
BOOTSTRAPPED = [
    Rev("0001", None, 'op.add_column("items", sa.Column("note", sa.Text))',
        'op.drop_column("items", "note")'),
    Rev("0002", "0001", 'op.create_index("ix_items_note", "items", ["note"])',
        'op.drop_index("ix_items_note", "items")'),
    Rev("0003", "0002", 'op.add_column("labels", sa.Column("text", sa.Text))',
        'op.drop_column("labels", "text")'),
]


def test_a_history_over_a_bootstrap_hook_squashes_to_a_base_that_builds_over_it(tmp_path, url, verify):
    project = build_project(tmp_path / "bootstrapped", BOOTSTRAPPED, files={
        "app/bootstrap.py": BOOTSTRAP,
        "alembic-preflight.toml": 'bootstrap = "app.bootstrap:create_tables"\n'})
    _committed_squash(project, url, "0002")

    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1", "--stage", "squash",
                    "--stage", "fresh", "--stage", "roundtrip")

    assert proved.code == 0, proved.stdout + proved.stderr
    for stage in ("squash", "fresh", "roundtrip"):
        assert proved.stage(stage)["status"] == "pass", proved.stdout


def test_in_on_a_varchar_column_proves_equal_though_postgresql_prints_it_anew(tmp_path, url, verify):
    # PostgreSQL stores `IN (...)` on a varchar column as one cast of the whole array; the
    # text it prints for that, run again by the base, stores a cast of each element.
    states = Rev("0001", None, """
        op.create_table("doors", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("state", sa.String(8), nullable=False),
                        sa.CheckConstraint("state IN ('open', 'shut')", name="ck_doors_state"))
        op.create_index("ix_doors_open", "doors", ["id"], postgresql_where=sa.text("state IN ('open')"))
        """, 'op.drop_table("doors")')
    project = build_project(tmp_path / "varchar-in", [states, Rev("0002", "0001"), Rev("0003", "0002")])
    _committed_squash(project, url, "0002")
    base = (project / "migrations" / "versions" / "0002_revision.py").read_text()
    assert "(ARRAY['open'::character varying, 'shut'::character varying])::text[]" in base

    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1", "--stage", "squash")

    assert proved.code == 0, proved.stdout + proved.stderr
    assert proved.stage("squash")["status"] == "pass", proved.stdout


def test_a_generated_200_revision_history_squashes_and_still_passes(tmp_path, url, verify):
    generated = generate(tmp_path / "generated", revisions=200, tables=60, seed=7)
    project = generated.root
    # Near the head, above the history's merges: 190 revisions go, 10 stay on the base.
    point = generated.ids[-11]

    squashed = _committed_squash(project, url, point)
    assert f"squash: 190 revisions up to {point}" in squashed.stdout, squashed.stdout

    # One run: the proof and the stages that judge the squashed history as any other.
    stages = ("files", "heads", "fresh", "drift", "roundtrip", "squash")
    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1",
                    *(arg for stage in stages for arg in ("--stage", stage)))

    assert proved.code == 0, proved.stdout + proved.stderr
    for stage in stages:
        # fresh may warn of the locks it measured the revisions take, which a correct history takes too.
        assert proved.stage(stage)["status"] in (("pass", "warn") if stage == "fresh" else ("pass",)), \
            proved.stdout
    assert proved.stage("squash")["summary"].startswith(
        f"the base {point} builds the schema of HEAD~1's history at {point} (190 revisions)"), proved.stdout


def test_a_base_with_a_partitioned_table_downgrades(tmp_path, url, verify):
    # The partitions' primary keys hang off the parent's: the base's downgrade drops the parent's.
    partitioned = Rev("0001", None, """
        op.execute("CREATE TABLE events (id integer NOT NULL, CONSTRAINT pk_events PRIMARY KEY (id)) "
                   "PARTITION BY RANGE (id)")
        op.execute("CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (MINVALUE) TO (100)")
        op.execute("CREATE TABLE events_high PARTITION OF events FOR VALUES FROM (100) TO (MAXVALUE)")
        op.execute("CREATE INDEX ix_events_id_desc ON events (id DESC)")
        """, 'op.execute("DROP TABLE events")')
    project = build_project(tmp_path / "partitioned", [partitioned, Rev("0002", "0001"), Rev("0003", "0002")])
    _committed_squash(project, url, "0002")

    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1", "--stage", "squash",
                    "--stage", "roundtrip")

    assert proved.code == 0, proved.stdout + proved.stderr
    assert proved.stage("roundtrip")["status"] == "pass", proved.stdout
    assert proved.stage("squash")["status"] == "pass", proved.stdout


def test_a_base_downgrades_under_a_foreign_key_a_later_downgrade_named_otherwise(tmp_path, url, verify):
    history = [
        Rev("0001", None, """
            op.create_table("parents", sa.Column("id", sa.Integer, primary_key=True))
            op.create_table("children", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("parent_id", sa.Integer))
            op.create_foreign_key("fk_children_parent", "children", "parents", ["parent_id"], ["id"])
            """, """
            op.drop_table("children")
            op.drop_table("parents")
            """),
        Rev("0002", "0001"),
        # Its downgrade makes the table again, its foreign key under another name.
        Rev("0003", "0002", 'op.drop_table("children")', """
            op.create_table("children", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("parent_id", sa.Integer))
            op.create_foreign_key("fk_children_parents_id", "children", "parents", ["parent_id"], ["id"])
            """),
    ]
    project = build_project(tmp_path / "renamed", history)
    _committed_squash(project, url, "0002")

    proved = verify(project, "--quiet-progress", "--squash-check", "HEAD~1", "--stage", "squash",
                    "--stage", "roundtrip")

    assert proved.code == 0, proved.stdout + proved.stderr
    assert proved.stage("roundtrip")["status"] == "pass", proved.stdout
