"""files: defects in the revision files themselves, each in a project of its own."""

from __future__ import annotations

import alembic
import pytest
from projects import CREATE_ITEMS, DROP_ITEMS, Rev, build_project, items_revision

DEFECTS = {
    # Two files claim 0002: Alembic silently keeps one and the other never runs.
    "duplicate-revision": ([items_revision(), Rev("0002", "0001", file="0002_a.py"),
                            Rev("0002", "0001", file="0002_b.py")], "0002", "0002_a.py, 0002_b.py"),
    # 0002's parent was deleted (or never committed).
    "missing-down-revision": ([items_revision(), Rev("0002", "0999")], "0002", "0999"),
    # Nobody can roll 0002 back.
    "missing-downgrade": ([items_revision(), Rev("0002", "0001", downgrade=None)],
                          "0002", "0002_revision.py:downgrade"),
    # upgrade() but no revision id: Alembic never loads the file, its change never ships.
    "revision-not-loaded": ([items_revision(), Rev(None, "0001", 'op.drop_column("items", "name")',
                                                   file="0002_forgotten.py")], None, "0002_forgotten.py"),
}


@pytest.mark.parametrize("code", DEFECTS)
def test_files_stage_names_the_defective_revision(verify, tmp_path, code):
    revisions, revision, obj = DEFECTS[code]
    result = verify(build_project(tmp_path / "project", revisions))

    assert result.code == 1, result.stdout + result.stderr
    assert result.stage("files")["status"] == "fail"
    found = result.findings("files", code)
    assert len(found) == 1, result.findings("files")
    assert set(found[0]) >= {"severity", "code", "message", "revision", "object"}
    assert found[0]["severity"] == "error"
    assert found[0]["revision"] == revision
    assert found[0]["object"].endswith(obj)
    assert [f["code"] for f in result.findings("files")] == [code], "exactly the one defect"
    # Nothing that needs a loadable history runs on top of broken files.
    later = [s for s in result.report["stages"] if s["name"] in ("fresh", "drift", "roundtrip")]
    assert {s["status"] for s in later} == {"skip"}
    assert "✗ files" in result.stdout and code in result.stdout



# Files Rev cannot write, as Alembic revision files in their own words.
REVISION_TEMPLATE = '''"""{doc}"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = {depends_on!r}
{functions}
'''
UPGRADE = "\ndef upgrade():\n    op.execute('SELECT 1')\n"
DOWNGRADE = "\ndef downgrade():\n    pass\n"

RAW_DEFECTS = {
    # No upgrade(): `alembic upgrade` fails on this revision in every deploy.
    "missing-upgrade": (REVISION_TEMPLATE.format(doc="no upgrade", depends_on=None, functions=DOWNGRADE),
                        "0002", "0002_raw.py:upgrade"),
    # depends_on names a revision nobody has.
    "missing-dependency": (REVISION_TEMPLATE.format(doc="dangling dependency", depends_on="0abc",
                                                    functions=UPGRADE + DOWNGRADE), "0002", "0abc"),
    # A merge conflict marker left in the file.
    "unparsable-revision": (REVISION_TEMPLATE.format(doc="conflict", depends_on=None,
                                                     functions=UPGRADE + "<<<<<<< HEAD\n" + DOWNGRADE),
                            None, "0002_raw.py"),
}


@pytest.mark.parametrize("code", RAW_DEFECTS)
def test_files_stage_reads_what_alembic_would_choke_on(verify, tmp_path, code):
    text, revision, obj = RAW_DEFECTS[code]
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"migrations/versions/0002_raw.py": text})
    result = verify(project, "--stage", "files")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("files")
    assert [f["code"] for f in found] == [code], found
    assert found[0]["revision"] == revision
    assert found[0]["object"].endswith(obj), found[0]


def test_a_file_that_does_not_parse_is_one_finding_not_also_a_dangling_parent_above_it(verify, tmp_path):
    broken = REVISION_TEMPLATE.format(doc="conflict", depends_on=None, functions=UPGRADE + "<<<<<<< HEAD\n")
    project = build_project(tmp_path / "project", [items_revision(), Rev("0003", "0002")],
                            files={"migrations/versions/0002_raw.py": broken})
    result = verify(project, "--stage", "files")

    assert result.code == 1, result.stdout + result.stderr
    assert [f["code"] for f in result.findings("files")] == ["unparsable-revision"], result.findings("files")


def test_a_cycle_in_the_history_is_reported_not_crashed_on(verify, tmp_path):
    project = build_project(tmp_path / "project", [Rev("0001", "0002"), Rev("0002", "0001")])
    result = verify(project, "--stage", "files", "--stage", "heads")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("files")
    assert [f["code"] for f in found] == ["history-unloadable"], found
    assert "0001" in found[0]["message"] or "0002" in found[0]["message"], found[0]
    assert result.stage("heads")["status"] == "skip"


def test_an_empty_history_is_said_but_is_not_a_files_failure(verify, tmp_path):
    # A new project has no revisions yet; drift names any models that need a first one.
    result = verify(build_project(tmp_path / "project", []), "--stage", "files")

    assert result.code == 0, result.stdout + result.stderr
    found = result.findings("files")
    assert [(f["code"], f["severity"]) for f in found] == [("no-revisions", "info")]
    assert found[0]["object"].endswith("migrations/versions"), "names the folder it looked in"


def test_a_revision_whose_imports_need_a_missing_package_names_the_package(verify, tmp_path):
    # mealie's shape: a revision imports the app, whose logging config names a handler
    # from a package that is not installed.
    logsetup = """\
    import logging.config

    logging.config.dictConfig({"version": 1, "handlers": {"pretty": {"class": "prettylogs.Handler"}},
                               "root": {"handlers": ["pretty"]}})
    """
    revision = Rev("0001", None, CREATE_ITEMS, DROP_ITEMS)
    project = build_project(tmp_path / "project", [revision], files={"app/logsetup.py": logsetup})
    path = project / "migrations" / "versions" / revision.filename
    path.write_text("import app.logsetup  # noqa\n" + path.read_text())
    result = verify(project, "--stage", "files")

    [finding] = result.findings("files")
    assert finding["code"] == "history-unloadable"
    assert "needs the package `prettylogs`" in finding["message"], finding["message"]


def test_depends_on_a_branch_label_is_no_missing_dependency(verify, tmp_path):
    # quetz's plugins depend on `"quetz"`, the label of the core branch.
    revisions = [Rev("a1110001", None, CREATE_ITEMS, DROP_ITEMS), Rev("b2220002", "a1110001"),
                 Rev("c3330003", "b2220002")]
    project = build_project(tmp_path / "project", revisions)
    versions = project / "migrations" / "versions"
    base = versions / revisions[0].filename
    base.write_text(base.read_text().replace("branch_labels = None", 'branch_labels = ("core",)'))
    top = versions / revisions[2].filename
    top.write_text(top.read_text().replace("depends_on = None", 'depends_on = ("core", "b2220002")'))
    result = verify(project, "--stage", "files", "--stage", "heads", "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("files") == []


def test_revision_files_in_folders_no_version_location_covers_are_named(verify, tmp_path):
    # A year folder below versions/, and a sibling folder a wrapper adds at run time:
    # Alembic reads neither, so their revisions never run, and nothing else says so.
    project = build_project(tmp_path / "project", [items_revision()], files={
        "migrations/versions/2024/0002_a.py": Rev("0002", "0001").source(),
        "migrations/plugin_versions/0003_b.py": Rev("0003", "0001").source(),
        "migrations/shared/common.py": "LIMIT = 3\n",  # no revision file: not one of them
        "migrations/versions/__pycache__/stale.py": "revision = 'x'\n"})
    result = verify(project, "--stage", "files")

    assert result.code == 0, result.stdout + result.stderr
    [finding] = result.findings("files")
    assert (finding["code"], finding["severity"]) == ("revisions-not-read", "warning")
    assert finding["object"] == "migrations/plugin_versions, migrations/versions/2024"
    assert "1 in migrations/plugin_versions, 1 in migrations/versions/2024" in finding["message"]
    assert ('version_locations = ["migrations/versions", "migrations/plugin_versions", '
            '"migrations/versions/2024"]') in finding["hint"]

    settings = 'version_locations = ["migrations/versions", "migrations/plugin_versions", ' \
               '"migrations/versions/2024"]\n'
    (project / "pyproject.toml").write_text(f"[tool.alembic-preflight]\n{settings}")
    result = verify(project, "--stage", "files", "--stage", "heads")
    assert result.findings("files") == [], "covered now: read, and no warning"
    assert {h for h in result.findings("heads")[0]["object"].split()} == {"0002", "0003"}


def test_subfolders_read_recursively_are_covered(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"migrations/versions/2024/0002_a.py": Rev("0002", "0001").source()})
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace("[alembic]\n", "[alembic]\nrecursive_version_locations = true\n"))
    result = verify(project, "--stage", "files", "--stage", "heads")

    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("heads") == []
    if tuple(int(part) for part in alembic.__version__.split(".")[:2]) >= (1, 10):
        assert result.findings("files") == []
    else:  # Alembic before 1.10 has no recursive_version_locations: it never reads 2024/
        assert [f["code"] for f in result.findings("files")] == ["revisions-not-read"]
