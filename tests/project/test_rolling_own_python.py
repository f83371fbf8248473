"""The rolling stage with the project's code in its own Python: both releases' models are
read there, never in the suite's process."""

from __future__ import annotations

from rolling_projects import released


def test_both_directions_are_judged_with_the_projects_own_python(verify, tmp_path, shared_python):
    project = released(tmp_path / "project", "rename")

    result = verify(project, "--quiet-progress", "--python", str(shared_python), "--stage", "rolling",
                    "--previous-release", "v1", "--code-first")

    assert f"python: {shared_python}" in result.stdout
    broken = result.findings("rolling", "breaks-previous-release")
    assert {(f["revision"], f["object"]) for f in broken} == {("0002", "items")}, result.stdout
    needed = result.findings("rolling", "needs-migration-first")
    assert {f["revision"] for f in needed} == {"0002"} and all("memo" in f["message"] for f in needed), \
        result.stdout
