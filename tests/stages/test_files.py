"""files: defects in the revision files themselves, each in a project of its own."""

from __future__ import annotations

import pytest
from projects import Rev, build_project, items_revision

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

