"""A project that writes no downgrades by policy: nothing to round-trip, nothing missing."""

from __future__ import annotations

from pathlib import Path

import alembic
from projects import CREATE_ITEMS, ITEMS_MODELS, Rev, assert_usage_error, build_project

# What `alembic init` writes, and the same less downgrade(): the revisions made from it
# roll forward only.

WITH_DOWNGRADE_TEMPLATE = (Path(alembic.__file__).parent / "templates/generic/script.py.mako").read_text()
UPGRADE_ONLY_TEMPLATE = WITH_DOWNGRADE_TEMPLATE[:WITH_DOWNGRADE_TEMPLATE.index("\n\ndef downgrade")] + "\n"
MODELS = ITEMS_MODELS + 'items.append_column(sa.Column("note", sa.Text))\n'
ADD_NOTE = 'op.add_column("items", sa.Column("note", sa.Text))'


def forward_only(root, template: str = UPGRADE_ONLY_TEMPLATE, downgrade: str | None = None,
                 settings: str | None = None):
    revisions = [Rev("0001", None, CREATE_ITEMS, downgrade), Rev("0002", "0001", ADD_NOTE, downgrade)]
    return build_project(root, revisions, models=MODELS, settings=settings,
                         files={"migrations/script.py.mako": template})


def statuses(result) -> dict[str, str]:
    return {s["name"]: s["status"] for s in result.report["stages"]}


def test_revisions_and_template_without_downgrades_are_recognised_as_the_policy(verify, tmp_path):
    result = verify(forward_only(tmp_path / "project"))

    assert result.code == 0, result.stdout + result.stderr
    assert statuses(result) == {"files": "pass", "heads": "pass", "fresh": "pass", "merge-order": "pass",
                                "drift": "pass",
                                "roundtrip": "skip", "lint": "warn"}, result.stdout
    assert result.findings("files") == []
    assert [f["code"] for f in result.findings("lint")] == ["missing-lock-timeout"], "nothing on downgrades"
    [skip] = result.findings("roundtrip")
    assert skip["code"] == "skipped" and skip["hint"] is None
    assert "writes no downgrades (recognised: no revision file and no script.py.mako" in skip["message"]
    assert "downgrades = false" in skip["message"]
    assert result.stdout.count("writes no downgrades") == 1, result.stdout


def test_the_declared_policy_silences_empty_downgrades_and_says_where_it_was_read(verify, tmp_path):
    project = forward_only(tmp_path / "project", template=WITH_DOWNGRADE_TEMPLATE, downgrade="pass",
                           settings="downgrades = false\n")
    result = verify(project, "--stage", "files", "--stage", "roundtrip", "--stage", "lint")

    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("lint", "empty-downgrade") == []
    [skip] = result.findings("roundtrip")
    assert "(declared: downgrades = false in " in skip["message"]
    assert "pyproject.toml" in skip["message"]

    (project / "pyproject.toml").unlink()
    result = verify(project, "--stage", "lint")
    assert {f["revision"] for f in result.findings("lint", "empty-downgrade")} == {"0001", "0002"}


def test_a_template_that_writes_downgrades_keeps_every_missing_one_an_error(verify, tmp_path):
    result = verify(forward_only(tmp_path / "project", template=WITH_DOWNGRADE_TEMPLATE))

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("files")
    assert [(f["code"], f["revision"]) for f in found] == [("missing-downgrade", "0001"),
                                                          ("missing-downgrade", "0002")], found
    assert "downgrades = false" in found[0]["hint"]
    assert statuses(result)["roundtrip"] == "skip"


def test_downgrades_true_requires_them_even_where_none_is_written(verify, tmp_path):
    project = forward_only(tmp_path / "project", settings="downgrades = true\n")
    result = verify(project, "--stage", "files")

    assert result.code == 1, result.stdout + result.stderr
    assert [f["code"] for f in result.findings("files")] == ["missing-downgrade"] * 2


def test_downgrades_must_be_a_boolean(verify, tmp_path):
    project = forward_only(tmp_path / "project", settings='downgrades = "no"\n')
    assert_usage_error(verify(project, "--stage", "files"), "downgrades must be true or false",
                       "downgrades = false")
