"""The pre-commit hooks, run by real pre-commit on a real git repository of an Alembic project.

The hook repository is this checkout, uncommitted changes included (copied into a fresh git
repository, as pre-commit installs hooks from a commit). The configuration is the manual's
own snippet (docs/ci.md), pointed at that commit. pre-commit builds the hook's environment (a pip install
of the suite) once for this module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_support import EXAMPLE, ROOT, needs_example
from doc_pages import snippets

pytestmark = needs_example

GIT_IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**os.environ, **GIT_IDENTITY, **(env or {})})


def documented_precommit_config() -> dict:
    [config] = [yaml.safe_load(body) for body in snippets("yaml") if "repos:" in body]
    return config


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """This checkout's files (tracked and new, not ignored) committed into a fresh repository."""
    repo = tmp_path_factory.mktemp("hook-repo")
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is not part of it
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the suite under test"]):
        assert git(repo, *args).returncode == 0
    return repo, git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def precommit_home(tmp_path_factory, hook_repo) -> Path:
    """pre-commit's cache, shared by this module: the hook's environment is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def app_repo(tmp_path, hook_repo, precommit_home):
    """A git repository holding the example Alembic project, the documented hooks installed."""
    repo_path, rev = hook_repo
    root = tmp_path / "app"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", ".alembic-preflight"))
    config = documented_precommit_config()
    config["repos"][0].update(repo=str(repo_path), rev=rev)
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env = {"PRE_COMMIT_HOME": str(precommit_home)}
    assert git(root, "init", "-q").returncode == 0
    installed = subprocess.run([sys.executable, "-m", "pre_commit", "install", "--install-hooks"], cwd=root,
                               capture_output=True, text=True, timeout=900, env={**os.environ, **env})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    first = commit(root, env, "the example project")
    assert first.returncode == 0, first.stdout + first.stderr
    return root, env


def commit(root: Path, env: dict, message: str) -> subprocess.CompletedProcess:
    assert git(root, "add", "-A").returncode == 0
    return git(root, "commit", "-m", message, env=env)


def add_revision(root: Path, revision: str, down: str, upgrade: str, downgrade: str, message: str) -> None:
    (root / "migrations" / "versions" / f"{revision}_change.py").write_text(
        f'"""{message}"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        f'revision = "{revision}"\ndown_revision = "{down}"\n\n\n'
        f"def upgrade() -> None:\n    {upgrade}\n\n\ndef downgrade() -> None:\n    {downgrade}\n")


def committed(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").stdout.splitlines()


def test_the_documented_config_uses_the_fast_hook_at_commit_and_the_full_one_at_push():
    hooks = {hook["id"]: hook for hook in documented_precommit_config()["repos"][0]["hooks"]}
    offered = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == offered == {"alembic-preflight-fast", "alembic-preflight"}
    assert "stages" not in hooks["alembic-preflight-fast"]
    assert hooks["alembic-preflight"]["stages"] == ["pre-push"]


def test_an_unreviewed_drop_column_blocks_the_commit(app_repo):
    root, env = app_repo
    add_revision(root, "0004", "0003", 'op.drop_column("customers", "notes")',
                 'op.add_column("customers", sa.Column("notes", sa.Text(), nullable=True))',
                 "drop the notes column of customers")
    result = commit(root, env, "drop notes")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "drop-column" in output and "revision 0004" in output and "0004_change.py" in output, output
    assert "no server" in output  # the fast hook started no PostgreSQL
    assert committed(root) == ["the example project"]


def test_a_second_head_blocks_the_commit(app_repo):
    root, env = app_repo
    for revision in ("0004", "0005"):
        add_revision(root, revision, "0003", f'op.create_table("t{revision}", sa.Column("id", sa.Integer))',
                     f'op.drop_table("t{revision}")', f"create table t{revision} for reports")
    result = commit(root, env, "two heads")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "heads" in output and "0004" in output and "0005" in output, output
    assert committed(root) == ["the example project"]


LOCK_TIMEOUT = "op.execute(\"SET LOCAL lock_timeout = '5s'\")\n    "


def test_a_safe_revision_and_a_reviewed_drop_pass(app_repo):
    root, env = app_repo
    add_revision(root, "0004", "0003",
                 LOCK_TIMEOUT + 'op.add_column("customers", sa.Column("tier", sa.Text(), nullable=True))',
                 'op.drop_column("customers", "tier")', "add a nullable tier column to customers")
    result = commit(root, env, "add tier")
    assert result.returncode == 0, result.stdout + result.stderr
    add_revision(root, "0005", "0004",
                 LOCK_TIMEOUT + '# verify: allow drop-column -- tier was never read; a mistake of 0004\n'
                 '    op.drop_column("customers", "tier")',
                 'op.add_column("customers", sa.Column("tier", sa.Text(), nullable=True))',
                 "drop the unused tier column of customers")
    result = commit(root, env, "drop tier, reviewed")
    assert result.returncode == 0, result.stdout + result.stderr
    assert committed(root) == ["drop tier, reviewed", "add tier", "the example project"]


def test_the_full_hook_runs_every_stage_on_a_throwaway_server(app_repo):
    root, env = app_repo
    argv = [sys.executable, "-m", "pre_commit", "run", "alembic-preflight", "--hook-stage", "pre-push",
            "--all-files", "--verbose"]
    result = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=900,
                            env={**os.environ, **env})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for stage in ("files", "heads", "fresh", "drift", "roundtrip", "lint"):
        assert f"✓ {stage}" in output, output
    assert "server: PostgreSQL" in output
