"""fresh: the history must build the schema on an empty database, alone."""

from __future__ import annotations

from projects import ITEMS_MODELS, Rev, build_project, items_revision


def test_revision_relying_on_a_hand_made_table_fails_on_an_empty_database(verify, tmp_path):
    # 0002 alters `audit`, a table someone created by hand on their own database.
    models = ITEMS_MODELS + (
        'audit = sa.Table("audit", metadata, sa.Column("id", sa.Integer, primary_key=True),\n'
        '                 sa.Column("note", sa.Text))\n')
    revisions = [items_revision(), Rev("0002", "0001", 'op.add_column("audit", sa.Column("note", sa.Text))',
                                       'op.drop_column("audit", "note")', file="0002_audit_note.py")]
    project = build_project(tmp_path / "project", revisions, models=models)
    result = verify(project)

    assert result.code == 1
    [finding] = result.findings("fresh", "upgrade-failed")
    assert finding["revision"] == "0002"
    assert finding["object"].endswith("0002_audit_note.py")
    assert 'relation "audit" does not exist' in finding["message"]
    # Stages that need the migrated schema say why they did not run.
    for stage in ("drift", "roundtrip"):
        assert result.stage(stage)["status"] == "skip"
        assert "0002" in result.stage(stage)["findings"][0]["message"]

    # Asked for drift alone (`nox -s drift`), the run must still fail and say why.
    result = verify(project, "--stage", "drift", "--stage", "roundtrip")
    assert result.code == 1
    assert [(f["code"], f["revision"]) for f in result.findings("drift")] == [("upgrade-failed", "0002")]
    assert result.stage("drift")["status"] == "error"
    assert result.stage("roundtrip")["status"] == "skip"


def test_missing_critical_table_is_named(verify, tmp_path):
    settings = 'critical_tables = ["items", "public.users"]\n'
    result = verify(build_project(tmp_path / "project", [items_revision()], settings=settings),
                    "--stage", "fresh")

    assert result.code == 1
    [finding] = result.findings("fresh")
    assert finding["code"] == "critical-table-missing"
    assert finding["object"] == "public.users"
    assert finding["revision"] == "0001"


def test_migrations_env_py_never_commits_are_a_failure_not_a_pass(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], env="uncommitted")
    result = verify(project)

    assert result.code == 1, result.stdout
    [finding] = result.findings("fresh")
    assert (finding["code"], finding["revision"]) == ("upgrade-failed", "0001"), finding
    assert "never committed" in finding["message"]
    assert result.stage("drift")["status"] == "skip"
