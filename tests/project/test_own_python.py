"""verify with the project in its own Python (--python, or the python setting): the revisions,
env.py and the hooks run in the project's virtual environment, on the oldest stack the suite
supports there, and the revision stages find what they find in-process. Nothing is installed
into that environment, and nothing in it changes."""

from __future__ import annotations

import time

from projects import ITEMS_MODELS, Rev, build_project, items_revision, per_migration_env
from test_agent_old_stack import everything_in, pip_freeze

REVISION_STAGES = ("files", "heads", "fresh", "drift", "roundtrip")
PRICE_UP = 'op.add_column("items", sa.Column("price", sa.Integer))'
PRICE_DOWN = 'op.drop_column("items", "price")'


def _project(tmp_path, upgrade: str = PRICE_UP, downgrade: str = PRICE_DOWN, **kwargs):
    return build_project(tmp_path / "project", [items_revision(), Rev("0002", "0001", upgrade, downgrade)],
                         **kwargs)


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_a_clean_history_passes_and_the_projects_environment_is_left_as_it_was(verify, tmp_path, old_python):
    environment = old_python.parent.parent
    before, frozen = everything_in(environment), pip_freeze(old_python)
    # The bootstrap hook runs there too: the history needs the schema it creates.
    notes = 'op.create_table("notes", sa.Column("id", sa.Integer), schema="extra")'
    # (A schema env.py's autogenerate does not look at: include_schemas is off.)
    project = _project(tmp_path, upgrade=notes,
                       downgrade='op.drop_table("notes", schema="extra")',
                       settings='bootstrap = "app.boot:run"\n',
                       files={"app/boot.py": "def run(connection):\n"
                                             "    connection.execute('CREATE SCHEMA extra')\n"})

    result = verify(project, "--python", str(old_python))

    assert result.code == 0, result.stdout + result.stderr
    _no_traceback(result)
    for stage in (*REVISION_STAGES, "lint"):
        assert result.stage(stage)["status"] == "pass", result.stage(stage)
    assert pip_freeze(old_python) == frozen
    assert everything_in(environment) == before


def test_a_downgrade_that_leaves_a_column_is_named(verify, tmp_path, old_python):
    result = verify(_project(tmp_path, downgrade="pass"), "--python", str(old_python.parent.parent))

    assert result.code == 1, result.stdout + result.stderr
    [trace] = result.findings("roundtrip", "downgrade-leaves-trace")
    assert trace["revision"] == "0002" and trace["object"] == "items.price", trace
    assert result.stage("fresh")["status"] == "pass"


def test_models_the_migrations_do_not_build_are_drift(verify, tmp_path, old_python):
    # The models (in the project's Python) declare a column and a server default no revision has.
    models = ITEMS_MODELS.replace('sa.Column("id", sa.Integer, primary_key=True),',
                                  'sa.Column("id", sa.Integer, primary_key=True),\n'
                                  '                 sa.Column("stock", sa.Integer, server_default="0"),')
    assert models != ITEMS_MODELS
    project = build_project(tmp_path / "project", [items_revision()], models=models)

    result = verify(project, "--python", str(old_python), "--stage", "drift")

    assert result.code == 1, result.stdout + result.stderr
    [added] = result.findings("drift", "drift-autogenerate")
    assert added["object"] == "items.stock" and "no migration adds it" in added["message"], added
    assert added["revision"] == "0001"


def test_locks_rewrites_and_scans_are_measured_in_the_projects_process(verify, tmp_path, old_python):
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.alter_column("items", "id", type_=sa.BigInteger)',
                     'op.alter_column("items", "id", type_=sa.Integer)'),
                 Rev("0003", "0002", 'op.create_index("ix_name", "items", ["name"])',
                     'op.drop_index("ix_name", table_name="items")')]
    project = build_project(tmp_path / "project", revisions, files={"migrations/env.py": per_migration_env()})

    result = verify(project, "--python", str(old_python), "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    [rewrite] = result.findings("fresh", "deploy-rewrite")
    assert rewrite["revision"] == "0002" and "ACCESS EXCLUSIVE on public.items" in rewrite["message"]
    [scan] = result.findings("fresh", "deploy-scan")
    assert scan["revision"] == "0003" and "SHARE on public.items" in scan["message"]


def test_a_failing_upgrade_names_the_revision_the_database_error_and_the_line(verify, tmp_path, old_python):
    project = _project(tmp_path, upgrade='x = 1\nop.execute("SELECT * FROM nowhere")')

    result = verify(project, "--python", str(old_python), "--stage", "fresh")

    assert result.code == 1, result.stdout + result.stderr
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002"
    assert 'relation "nowhere" does not exist' in failed["message"]
    source = (project / "migrations" / "versions" / "0002_revision.py").read_text().splitlines()
    assert failed["line"] and "nowhere" in source[failed["line"] - 1], failed


def test_python_code_past_its_limit_is_ended_in_the_projects_process(verify, tmp_path, old_python):
    project = _project(tmp_path, upgrade="import time\ntime.sleep(60)")

    started = time.monotonic()
    result = verify(project, "--python", str(old_python), "--stage", "fresh", "--revision-timeout", "2")

    assert time.monotonic() - started < 40  # not the revision's 60 s
    assert result.code == 1, result.stdout + result.stderr
    _no_traceback(result)
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002"
    assert "2 s revision limit" in failed["message"] and "the revision's Python code" in failed["message"]


def test_the_python_setting_names_the_environment_relative_to_the_project(verify, tmp_path, old_python):
    # The revision itself tells where it runs: only the project's Python has SQLAlchemy 1.3.
    where = f'import sqlalchemy\nassert sqlalchemy.__version__ == "1.3.24"\n{PRICE_UP}'
    project = _project(tmp_path, upgrade=where, settings=f'python = "{old_python.parent.parent}"\n')

    result = verify(project, "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("fresh")["status"] == "pass"


def test_the_projects_venv_folder_or_the_active_environment_is_found(verify, tmp_path, old_python):
    where = f'import sqlalchemy\nassert sqlalchemy.__version__ == "1.3.24"\n{PRICE_UP}'
    project = _project(tmp_path, upgrade=where)
    (project / ".venv").symlink_to(old_python.parent.parent, target_is_directory=True)

    found = verify(project, "--stage", "fresh", env={"VIRTUAL_ENV": ""})
    assert found.code == 0, found.stdout + found.stderr
    assert f"python: {project / '.venv' / 'bin' / 'python'} (.venv): Python" in found.stdout
    assert "SQLAlchemy 1.3.24, Alembic 1.5.8" in found.stdout

    (project / ".venv").unlink()
    active = verify(project, "--stage", "fresh", env={"VIRTUAL_ENV": str(old_python.parent.parent)})
    assert active.code == 0, active.stdout + active.stderr
    assert "($VIRTUAL_ENV)" in active.stdout


def test_the_recovery_drills_run_in_the_projects_python(verify, tmp_path, old_python):
    result = verify(_project(tmp_path), "--python", str(old_python), "--stage", "recovery")

    _no_traceback(result)
    codes = {finding["code"] for finding in result.findings("recovery")}
    for drill in ("drill-unknown-revision", "drill-behind", "drill-backup-restore",
                  "drill-history-under-data", "drill-failed-migration"):
        assert drill in codes, result.findings("recovery")
    # Three instances booting at once, each its own process of the project's Python: this
    # env.py takes no lock, so they race (the same finding as in-process).
    [race] = result.findings("recovery", "startup-race")
    assert "3 instances" in race["message"], race


def test_a_python_that_is_not_one_is_a_one_line_error(verify, tmp_path):
    result = verify(_project(tmp_path), "--python", str(tmp_path / "missing" / "python"))

    assert result.code == 2
    _no_traceback(result)
    assert "--python" in result.stderr and "is not a Python interpreter" in result.stderr
