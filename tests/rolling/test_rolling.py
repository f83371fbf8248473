"""The rolling stage: does the release still running survive the migration?

Each fixture (`rolling_projects`) is a git repository of two commits: the previous release,
tagged `v1`, then the change. A change that breaks what the previous release sends is
named by revision, table and statement; the same change made the expand/contract way
passes.
"""

from __future__ import annotations

import shutil

import pytest
from cli_support import verify_before_a_server, without_git
from projects import assert_usage_error
from rolling_projects import WITHOUT_NOTE, git
from rolling_projects import released as _released


@pytest.mark.parametrize(("change", "kinds", "sqlstate_hint"), [
    ("drop", {"SELECT", "UPDATE", "INSERT"}, "stops using it"),
    ("rename", {"SELECT", "UPDATE", "INSERT"}, "add the new column, backfill"),
    ("not-null", {"INSERT"}, "add it nullable or with a server_default"),
])
def test_a_change_that_breaks_the_running_release_names_revision_statement_and_fix(
        verify, tmp_path, change, kinds, sqlstate_hint):
    project = _released(tmp_path / "project", change)

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v1")

    assert result.code == 1, result.stdout
    found = result.findings("rolling", "breaks-previous-release")
    assert {f["revision"] for f in found} == {"0002"}, found
    assert {f["object"] for f in found} == {"items"}
    assert {f["message"].split("release's ")[1].split(" ")[0] for f in found} == kinds, found
    for finding in found:
        assert finding["file"].endswith("0002_change.py")
        assert "it sends: " in finding["message"] and "items" in finding["message"].split("it sends: ")[1]
        assert sqlstate_hint in finding["hint"], finding["hint"]
    if change == "not-null":
        [insert] = found
        assert "price" in insert["message"] and "null" in insert["message"], insert["message"]
    else:
        assert all("note" in f["message"] and "does not exist" in f["message"] for f in found), found


@pytest.mark.parametrize("change", ["drop-after-release-stopped-reading",
                                    "drop-after-release-stopped-mapping", "rename-as-add-and-backfill",
                                    "not-null-with-default"])
def test_the_same_change_made_the_expand_contract_way_passes(verify, tmp_path, change):
    project = _released(tmp_path / "project", change)

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v1")

    assert result.code == 0, result.stdout
    assert result.stage("rolling")["status"] == "pass", result.stdout
    assert not result.findings("rolling", "rolling-unjudged"), result.stdout
    assert "1 table(s) of the previous release (v1) replayed after each of 1 new revision(s)" in \
        result.stage("rolling")["summary"]


def test_the_revision_named_is_the_first_after_which_the_statement_fails(verify, tmp_path):
    project = _released(tmp_path / "project", "drop",
                        first='op.create_index("ix_items_note", "items", ["note"])')

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v1")

    found = result.findings("rolling", "breaks-previous-release")
    assert found and {f["revision"] for f in found} == {"0003"}, result.stdout
    assert all(f["file"].endswith("0003_change.py") for f in found)
    assert "after each of 2 new revision(s)" in result.stage("rolling")["summary"]


def test_the_previous_release_is_the_tree_of_the_reference_named(verify, tmp_path):
    # A hotfix release off v1 that stopped reading the column: HEAD does not descend from it.
    project = _released(tmp_path / "project", "drop")
    git(project, "checkout", "-q", "-b", "hotfix", "v1")
    (project / "app" / "models.py").write_text(WITHOUT_NOTE)
    git(project, "commit", "-q", "-am", "stop reading note")
    git(project, "tag", "v1.1")
    git(project, "checkout", "-q", "change")

    hotfix = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v1.1")
    v1 = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v1")

    assert hotfix.stage("rolling")["status"] == "pass", hotfix.stdout
    assert v1.findings("rolling", "breaks-previous-release"), v1.stdout


def test_a_previous_release_that_cannot_load_is_named_in_one_finding(verify, tmp_path):
    project = _released(tmp_path / "project", "drop")
    git(project, "checkout", "-q", "-b", "broken", "v1")
    (project / "app" / "models.py").write_text("import module_that_release_lacked\n")
    git(project, "commit", "-q", "-am", "a release that cannot import its models")
    git(project, "tag", "v0-broken")
    git(project, "checkout", "-q", "change")

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v0-broken")

    [finding] = result.findings("rolling", "previous-release-unloadable")
    assert "v0-broken" in finding["message"] and "module_that_release_lacked" in finding["message"], finding
    assert "Traceback" not in result.stdout + result.stderr
    assert result.code == 1, result.stdout
    assert finding["severity"] == "error"


def test_a_previous_release_without_alembic_is_named_in_one_finding(verify, tmp_path):
    project = _released(tmp_path / "project", "drop")
    git(project, "checkout", "-q", "-b", "before-alembic", "v1")
    git(project, "rm", "-q", "alembic.ini")
    git(project, "commit", "-q", "-m", "no alembic yet")
    git(project, "tag", "v0")
    git(project, "checkout", "-q", "change")

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v0")

    [finding] = result.findings("rolling", "previous-release-unloadable")
    assert "has no alembic.ini" in finding["message"], finding


def test_git_base_adds_the_stage_and_replays_its_merge_base(verify, tmp_path):
    project = _released(tmp_path / "project", "drop")

    result = verify(project, "--quiet-progress", "--git-base", "main")

    assert "rolling" in [s["name"] for s in result.report["stages"]]
    assert {f["revision"] for f in result.findings("rolling", "breaks-previous-release")} == {"0002"}


def test_code_first_names_the_revision_the_new_code_needs(verify, tmp_path):
    project = _released(tmp_path / "project", "not-null-with-default")

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v1",
                    "--code-first")

    found = result.findings("rolling", "needs-migration-first")
    assert found and {f["revision"] for f in found} == {"0002"}, result.stdout
    assert any("price" in f["message"] for f in found), found
    assert not result.findings("rolling", "breaks-previous-release")
    assert not result.findings("rolling", "rolling-unjudged"), result.stdout


def test_without_a_previous_release_the_stage_says_how_to_name_one(verify, tmp_path):
    project = _released(tmp_path / "project", "drop")

    result = verify(project, "--quiet-progress", "--stage", "rolling")

    assert result.stage("rolling")["status"] == "skip"
    assert "--previous-release REF" in result.findings("rolling")[0]["message"]


def test_an_unknown_release_is_a_one_line_error(verify, tmp_path):
    project = _released(tmp_path / "project", "drop")

    result = verify(project, "--quiet-progress", "--stage", "rolling", "--previous-release", "v9")

    assert_usage_error(result, "--previous-release", "v9")
    assert "server:" not in result.stdout, result.stdout


@pytest.mark.parametrize(("args", "fragments"), [
    (("--previous-release", "v9"), ("--previous-release: no commit named 'v9'", "git fetch origin v9")),
    (("--git-base", "nowhere"), ("--git-base: no commit named 'nowhere'", "git fetch origin nowhere")),
    # Only the merge base is a release the change starts from: REF must share history with HEAD.
    (("--git-base", "orphan"), ("--git-base: 'orphan' and HEAD share no history", "fetch-depth: 0")),
], ids=["previous-release", "git-base", "git-base-unrelated"])
def test_a_ref_that_names_no_release_is_refused_before_any_server_starts(tmp_path, args, fragments):
    project = _released(tmp_path / "project", "drop")
    git(project, "checkout", "-q", "--orphan", "orphan")
    git(project, "commit", "-q", "-m", "unrelated history")
    git(project, "checkout", "-q", "change")

    result = verify_before_a_server(project, "--stage", "rolling", *args)

    assert_usage_error(result, *fragments)


def test_a_previous_release_outside_git_is_refused_before_any_server_starts(tmp_path):
    project = _released(tmp_path / "project", "drop")
    shutil.rmtree(project / ".git")

    result = verify_before_a_server(project, "--previous-release", "v1")

    assert_usage_error(result, "--previous-release:", "is not inside a git repository",
                       "run from a clone")


def test_git_base_without_git_is_refused_before_any_server_starts(tmp_path):
    project = _released(tmp_path / "project", "drop")

    result = verify_before_a_server(project, "--git-base", "main", env=without_git(tmp_path))

    assert_usage_error(result, "--git-base", "git, which is not on PATH", "install git, or use --since REV")


def test_code_first_without_a_release_is_a_one_line_error(verify, tmp_path):
    project = _released(tmp_path / "project", "drop")

    assert_usage_error(verify(project, "--code-first"), "--code-first", "--previous-release REF")
