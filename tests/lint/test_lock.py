"""The lock file: a released revision that changes fails the files stage, naming it."""

from __future__ import annotations

import shutil
import subprocess
import sys

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


ORDERS = "0002_create_orders.py"


def _harmless(text: str, how: str) -> str:
    if how == "comment":
        return text.replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    # orders, at last\n")
    if how == "docstring":
        return text.replace("create orders with their status enum", "create the orders table (reviewed)") \
            .replace("def downgrade() -> None:\n", 'def downgrade() -> None:\n    """Drop it all."""\n')
    return text  # "reformat": the file goes through ruff format below


@pytest.mark.parametrize("how", ["comment", "docstring", "reformat"])
def test_comments_docstrings_and_formatting_are_no_edit(project, verify, how):
    assert lock(project).code == 0
    revision = project / "migrations" / "versions" / ORDERS
    revision.write_text(_harmless(revision.read_text(), how))
    if how == "reformat":
        before = revision.read_text()
        subprocess.run([sys.executable, "-m", "ruff", "format", "--line-length", "60", "--quiet",
                        str(revision)], check=True)
        assert revision.read_text() != before, "the reformat changed nothing"
    result = verify(project, "--stage", "files", "--quiet-progress")
    assert result.findings("files") == [], result.stdout


@pytest.mark.parametrize(("edit", "part"), [
    (('sa.Numeric(12, 2)', 'sa.Numeric(14, 2)'), "upgrade()"),  # a changed column type
    (('down_revision = "0001"', 'down_revision = "0000"'), "its module-level code"),
    (('op.drop_table("orders")', 'op.drop_table("orders")\n    op.execute("SELECT 1")'), "downgrade()"),
], ids=["column-type", "down-revision", "added-statement"])
def test_a_change_of_code_names_the_revision_and_what_changed(project, verify, edit, part):
    assert lock(project).code == 0
    revision = project / "migrations" / "versions" / ORDERS
    revision.write_text(revision.read_text().replace(*edit))
    result = verify(project, "--stage", "files", "--quiet-progress")
    [changed] = result.findings("files", "locked-revision-changed")
    assert changed["revision"] == "0002" and f"({part})" in changed["message"], changed["message"]


def test_a_lock_of_file_checksums_still_reads_and_lock_rewrites_it_in_code_form(project, verify):
    from checks.lockfile import checksum

    versions = project / "migrations" / "versions"
    old_form = "".join(f"{path.name[:4]} {checksum(path)} versions/{path.name}\n"
                       for path in sorted(versions.glob("0*.py")))
    (project / "migrations" / LOCK_NAME).write_text("# written by an earlier version\n" + old_form)
    assert verify(project, "--stage", "files", "--quiet-progress").findings("files") == []
    # Bytes are what an old entry knows: a comment is an edit there, until the lock is rewritten.
    revision = versions / ORDERS
    revision.write_text(revision.read_text().replace("def upgrade", "# reviewed\ndef upgrade"))
    [changed] = verify(project, "--stage", "files", "--quiet-progress").findings("files")
    assert "(the file)" in changed["message"]
    revision.write_text(revision.read_text().replace("# reviewed\n", ""))
    assert lock(project).code == 0
    assert all(" code:upgrade=" in line for line in (project / "migrations" / LOCK_NAME).read_text()
               .splitlines() if not line.startswith("#"))
