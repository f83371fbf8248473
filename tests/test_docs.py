"""Every code block of the README and the manual is run or checked against the code: shell
commands name real commands, options, nox sessions and invoke tasks (and `verify` on the
bundled example runs); TOML is accepted as settings; Python is a working suppression or a
fixture revision the lint tests run; YAML is a pre-commit configuration of the hooks this
repository offers or a workflow actionlint accepts; JSON has the report's shape; sample
output comes from a real run. The reference pages are generated from the code and fresh,
the tests the reliability page names exist, and `mkdocs build --strict` passes."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from cli_support import ROOT, needs_example, run_cli
from doc_pages import DOCS, PAGES, README, blocks, commands, snippets

from checks.cli import _parser
from checks.lint.settings import parse_lint_settings
from checks.lint.suppress import inline_allows
from checks.project.settings import load_settings
from checks.result import Finding, StageResult

CHECKED = {"sh", "toml", "python", "yaml", "json", "text"}
# Commands that set an environment up or build the package: run for real by
# tests/harness/test_readme_setup.py and tests/test_packaging.py.
SETUP = (["python3", "-m", "venv"], [".", ".venv/bin/activate"], ["pip", "install"], ["export"],
         ["pre-commit", "install"], ["python", "-m", "harness.server_wheels"], ["python", "-m", "build"],
         ["twine", "check"], ["pipx", "install"])
# nox sessions whose arguments after `--` are verify's.
VERIFY_SESSIONS = {"verify", "files", "heads", "fresh", "merge-order", "drift", "roundtrip", "recovery",
                   "rehearse", "lint-migrations"}
REPORTS = (".json", ".xml", ".html")


def _generator():
    spec = importlib.util.spec_from_file_location("generate", DOCS / "generate.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def _names(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_names)
def test_every_block_has_a_language_a_test_checks(page):
    languages = [lang for lang, _ in blocks(page)]
    assert set(languages) <= CHECKED, f"{page}: blocks in {set(languages) - CHECKED}"


def _nox_sessions() -> set[str]:
    listing = subprocess.run([sys.executable, "-m", "nox", "-l", "-f", str(ROOT / "noxfile.py")],
                             capture_output=True, text=True, cwd=ROOT, check=True).stdout
    names = {line.split()[1] for line in listing.splitlines() if line[:2] in ("* ", "- ")}
    return names | {name.split("(")[0] for name in names}


def _invoke_tasks() -> dict[str, set[str]]:
    sys.path.insert(0, str(ROOT))
    try:
        import tasks
    finally:
        sys.path.remove(str(ROOT))
    from invoke import Collection

    collection = Collection.from_module(tasks)
    return {name: {arg.name.replace("_", "-") for arg in collection[name].get_arguments()}
            for name in collection.task_names}


def _parses(args: list[str]) -> None:
    try:
        _parser().parse_args(args)
    except SystemExit as exc:  # --version and --help exit 0; an unknown option exits 2
        assert exc.code == 0, f"not a valid command line: {args}"


def test_every_command_names_what_exists():
    sessions, task_args = _nox_sessions(), _invoke_tasks()
    seen = set()
    for argv in commands():
        tool = argv[0]
        seen.add(tool)
        if argv[:3] == ["python", "-m", "checks"] or tool == "alembic-preflight":
            _parses(argv[3:] if tool == "python" else argv[1:])
        elif tool == "nox":
            assert argv[1] == "-s" and argv[2] in sessions, argv
            if "--" in argv and argv[2].split("(")[0] in VERIFY_SESSIONS:
                _parses(["verify", *argv[argv.index("--") + 1:]])
        elif tool == "invoke":
            assert argv[1] in task_args, argv
            for option in (a for a in argv[2:] if a.startswith("--")):
                assert option[2:] in task_args[argv[1]], f"{argv[1]} has no option {option}"
        else:
            assert any(argv[:len(words)] == words for words in SETUP), f"unchecked command {argv}"
    assert {"nox", "invoke", "python", "alembic-preflight"} <= seen


def _example_runs() -> list[list[str]]:
    """The verify commands on the bundled example that need no Docker: run for real."""
    runs = []
    for argv in commands():
        args = argv[3:] if argv[0] == "python" else argv[1:]
        if argv[0] in ("python", "alembic-preflight") and args[:1] == ["verify"] \
                and "example" in args and "compose" not in args:
            runs.append(args)
    return runs


@needs_example
@pytest.mark.parametrize("args", _example_runs(), ids=" ".join)
def test_the_verify_commands_on_the_example_run(args, pg_server, tmp_path):
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    args = [str(ROOT / a) if a == "example" else str(tmp_path / a) if a.endswith(REPORTS) else a
            for a in args]
    result = run_cli(*args, url=url)
    assert result.code == 0, result.stdout + result.stderr
    for option in ("--report-json", "--report-junit", "--report-html"):
        if option in args:
            assert Path(args[args.index(option) + 1]).is_file(), option


def test_every_toml_block_is_accepted_as_settings(tmp_path):
    bodies = snippets("toml")
    assert bodies
    for index, body in enumerate(bodies):
        data = tomllib.loads(body)
        if "tool" not in data:
            parse_lint_settings(data["lint"], "docs")
            continue
        project = tmp_path / f"p{index}"
        project.mkdir()
        (project / "pyproject.toml").write_text(body)
        settings = load_settings(project)
        assert settings.source.endswith("[tool.alembic-preflight]")
        # The same text in alembic-preflight.toml, header and all, means the same.
        (project / "pyproject.toml").unlink()
        (project / "alembic-preflight.toml").write_text(body)
        own = load_settings(project)
        assert own.source.endswith("alembic-preflight.toml") and own == dataclasses.replace(settings,
                                                                                          source=own.source)


def test_every_python_block_is_a_suppression_or_a_fixture_the_lint_tests_run(tmp_path):
    generated = _generator().rules_page()  # its examples are the lint fixtures themselves
    for page in PAGES:
        for lang, body in blocks(page):
            if lang != "python":
                continue
            if "# verify: allow" in body:
                revision = tmp_path / "0001_rev.py"
                revision.write_text(f'revision = "0001"\ndown_revision = None\n\n{body}')
                allows, problems = inline_allows(str(revision), "0001")
                assert problems == [] and allows, body
            else:
                assert page == DOCS / "reference" / "lint-rules.md" and body in generated, body


def test_the_precommit_blocks_name_the_hooks_this_repository_offers():
    """tests/test_precommit.py installs this very configuration and commits through it."""
    configs = [yaml.safe_load(body) for body in snippets("yaml") if "repos:" in body]
    offered = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert configs
    for config in configs:
        assert {hook["id"] for hook in config["repos"][0]["hooks"]} == offered


def test_every_workflow_block_passes_actionlint_and_gives_the_action_only_its_inputs(tmp_path):
    from test_action import ACTION, actionlint

    workflows = {}
    for index, body in enumerate(snippets("yaml")):
        data = yaml.safe_load(body)
        if isinstance(data, list):  # steps to paste into a job: linted inside one
            steps = yaml.safe_dump({"jobs": {"check": {"runs-on": "ubuntu-24.04", "steps": data}},
                                    "on": {"pull_request": None}})
            workflows[f"steps-{index}.yml"] = steps
        elif "jobs" in data:
            workflows[f"workflow-{index}.yml"] = body
            steps = [step for job in data["jobs"].values() for step in job["steps"]]
            [ours] = [s for s in steps if s.get("uses", "").split("@")[0].endswith("/alembic-preflight")]
            assert set(ours["with"]) <= set(ACTION["inputs"]), ours["with"]
    assert workflows
    proc = actionlint(tmp_path, workflows)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_json_block_has_the_reports_shape():
    from checks.report.json_report import build_report

    top = set(build_report("p", "local", "15", [])) | {"pull_request"}
    stage_keys = {f.name for f in dataclasses.fields(StageResult)}
    finding_keys = {f.name for f in dataclasses.fields(Finding)}
    bodies = snippets("json")
    assert bodies
    for body in bodies:
        report = json.loads(body)
        assert set(report) <= top, set(report) - top
        for stage in report["stages"]:
            assert set(stage) <= stage_keys
            for finding in stage["findings"]:
                assert set(finding) <= finding_keys, set(finding) - finding_keys


def test_every_text_block_is_a_checked_sample():
    """Samples: README's (tests/test_readme.py) and the stages page's (tests/test_docs_samples.py)."""
    from test_docs_samples import PAGE, shown_blocks

    for page in PAGES:
        texts = [body for lang, body in blocks(page) if lang == "text"]
        if page == README:
            assert len(texts) == 1
        elif page == PAGE:
            assert sorted(texts) == sorted(shown_blocks(page.read_text()).values())
        else:
            assert texts == [], f"{page}: sample output no test compares with a real run"


def test_the_reference_pages_are_generated_from_the_code_and_fresh():
    proc = subprocess.run([sys.executable, str(DOCS / "generate.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_setting_has_its_entry_in_the_reference():
    from checks.project.settings import Settings

    page, keys = (DOCS / "reference" / "settings.md").read_text(), Settings.keys()
    assert keys and [key for key in keys if f"[`{key}`]" not in page] == []


def test_the_tests_the_reliability_page_names_exist():
    named = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", (DOCS / "reliability.md").read_text())
    assert len(named) >= 10
    for path, function in named:
        assert (ROOT / path).is_file(), path
        if function:
            tree = ast.parse((ROOT / path).read_text())
            defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            assert function in defined, f"{path}::{function}"


def test_mkdocs_builds_strict(tmp_path):
    """No broken link or anchor, no page outside the navigation."""
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "reference" / "settings" / "index.html").is_file()
