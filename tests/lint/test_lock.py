"""The lock file: a released revision that changes fails the files stage, naming it."""

from __future__ import annotations

import shutil

import pytest
from cli_support import EXAMPLE, run_cli

from checks.lockfile import LOCK_NAME


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "shop"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def lock(root, *args):
    return run_cli("lock", "--project", str(root), *args)


def test_lock_is_idempotent(project):
    first = lock(project)
    assert first.code == 0, first.stderr
    assert "new: 0001, 0002, 0003" in first.stdout
    text = (project / "migrations" / LOCK_NAME).read_text()
    assert lock(project).code == 0
    assert (project / "migrations" / LOCK_NAME).read_text() == text


def test_edited_locked_revision_fails_the_files_stage(project, verify):
    assert lock(project).code == 0
    assert verify(project, "--stage", "files", "--quiet-progress").code == 0
    revision = project / "migrations" / "versions" / "0002_create_orders.py"
    revision.write_text(revision.read_text().replace('server_default="0"', 'server_default="1"'))

    result = verify(project, "--stage", "files", "--quiet-progress")
    assert result.code == 1
    [changed] = result.findings("files", "locked-revision-changed")
    assert changed["revision"] == "0002" and changed["object"].endswith("0002_create_orders.py")
    assert "--relock 0002" in changed["hint"]

    refused = lock(project)
    assert refused.code == 1 and "0002" in refused.stdout
    assert lock(project, "--relock", "0002").code == 0
    assert verify(project, "--stage", "files", "--quiet-progress").code == 0


def test_line_endings_are_not_an_edit(project, verify):
    assert lock(project).code == 0
    revision = project / "migrations" / "versions" / "0001_create_customers.py"
    revision.write_bytes(revision.read_bytes().replace(b"\n", b"\r\n"))
    assert verify(project, "--stage", "files", "--quiet-progress").findings("files") == []


def test_a_deleted_locked_revision_fails_the_files_stage(project, verify):
    # Databases that ran 0003 record it; with its file gone every upgrade there stops.
    assert lock(project).code == 0
    next((project / "migrations" / "versions").glob("0003_*.py")).unlink()

    result = verify(project, "--stage", "files", "--quiet-progress")
    assert result.code == 1, result.stdout + result.stderr
    [removed] = result.findings("files", "locked-revision-removed")
    assert removed["severity"] == "error" and removed["revision"] == "0003"
    assert "Can't locate revision" in removed["message"]


def test_squashed_history(project, verify):
    """Old revisions replaced by one base: an error until `lock` forgets them, then clean."""
    assert lock(project).code == 0
    versions = project / "migrations" / "versions"
    bodies = [p.read_text() for p in sorted(versions.glob("*.py"))]
    for path in versions.glob("*.py"):
        path.unlink()
    squashed = bodies[2].replace('revision = "0003"', 'revision = "squash1"').replace(
        'down_revision = "0002"', "down_revision = None")
    upgrade_0001 = bodies[0].split("def upgrade() -> None:\n")[1].split("\n\ndef downgrade")[0]
    upgrade_0002 = bodies[1].split("def upgrade() -> None:\n")[1].split("\n\ndef downgrade")[0]
    squashed = squashed.replace("def upgrade() -> None:\n", "def upgrade() -> None:\n" + upgrade_0001
                                + "\n" + upgrade_0002 + "\n")
    (versions / "0001_squashed.py").write_text(squashed)

    before = verify(project, "--stage", "files", "--quiet-progress")
    assert before.code == 1
    assert sorted(f["revision"] for f in before.findings("files", "locked-revision-removed")) == \
        ["0001", "0002", "0003"]
    relocked = lock(project)
    assert relocked.code == 0 and "forgotten" in relocked.stdout and "squash1" in relocked.stdout
    assert verify(project, "--stage", "files", "--quiet-progress").findings("files") == []
