"""Every snippet in the README works as written: TOML parses and is accepted as settings,
commands name real commands, options, sessions and tasks, and the `verify` commands run
on the bundled example. A stranger copies these first; a broken one loses them."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest
import yaml
from cli_support import EXAMPLE, ROOT, run_cli

from checks.cli import _parser
from checks.lint.settings import parse_lint_settings
from checks.lint.suppress import inline_allows
from checks.project.settings import load_settings

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, re.S | re.M)


def snippets(language: str) -> list[str]:
    return [body for lang, body in BLOCKS if lang == language]


def commands() -> list[list[str]]:
    """Every command line of the shell snippets, split at `&&`, comments dropped."""
    found = []
    for body in snippets("sh"):
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            while "&&" in words:
                found.append(words[:words.index("&&")])
                words = words[words.index("&&") + 1:]
            if words:
                found.append(words)
    return found


def test_the_readme_has_the_snippets_these_tests_read():
    assert len(snippets("toml")) >= 2 and len(snippets("sh")) >= 5 and snippets("python")


def test_every_toml_snippet_parses_and_is_accepted_as_settings(tmp_path):
    for index, body in enumerate(snippets("toml")):
        data = tomllib.loads(body)
        if "tool" in data:
            project = tmp_path / f"p{index}"
            project.mkdir()
            (project / "pyproject.toml").write_text(body)
            settings = load_settings(project)
            assert settings.source.endswith("[tool.alembic-preflight]")
            assert settings.env["POSTGRES_DB"] == "{database}"
            # The README says the same goes into alembic-preflight.toml: header and all.
            (project / "pyproject.toml").unlink()
            (project / "alembic-preflight.toml").write_text(body)
            own = load_settings(project)
            assert own.source.endswith("alembic-preflight.toml") and own.env == settings.env
        else:
            parse_lint_settings(data["lint"], "README")


def test_the_suppression_comment_snippet_suppresses(tmp_path):
    [body] = snippets("python")
    revision = tmp_path / "0001_rev.py"
    revision.write_text(f'revision = "0001"\ndown_revision = None\n\n{body}')
    allows, problems = inline_allows(str(revision), "0001")
    assert problems == [] and [a.rule for a in allows] == ["drop-column"]


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


def test_every_command_names_what_exists():
    sessions, task_args = _nox_sessions(), _invoke_tasks()
    parser = _parser()
    seen = set()
    for argv in commands():
        tool = argv[0]
        seen.add(tool)
        if argv[:3] == ["python", "-m", "checks"] or tool == "alembic-preflight":
            args = argv[3:] if tool == "python" else argv[1:]
            parser.parse_args(args)  # exits (SystemExit) on an unknown command or option
        elif tool == "nox":
            assert argv[1] == "-s" and argv[2] in sessions, argv
            if "--" in argv:
                parser.parse_args(["verify", *argv[argv.index("--") + 1:]])
        elif tool == "invoke":
            assert argv[1] in task_args, argv
            for option in (a for a in argv[2:] if a.startswith("--")):
                assert option[2:] in task_args[argv[1]], f"{argv[1]} has no option {option}"
        else:
            # Setting up the environment; the pip-install test below runs that for real.
            setup = (["python3", "-m", "venv"], [".", ".venv/bin/activate"], ["pip", "install"], ["export"],
                     ["pre-commit", "install"])
            assert any(argv[:len(words)] == words for words in setup), f"unchecked command {argv}"
    assert {"nox", "invoke", "python"} <= seen


@pytest.mark.parametrize("argv", [a for a in commands() if a[:4] == ["python", "-m", "checks", "verify"]
                                  and "compose" not in a], ids=" ".join)
def test_the_verify_commands_run_on_the_example(argv, pg_server, tmp_path):
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    reports = (".json", ".xml", ".html")
    args = [str(EXAMPLE) if a == "path/to/app" else str(tmp_path / a) if a.endswith(reports) else a
            for a in argv[3:]]
    result = run_cli(*args, url=url)
    assert result.code == 0, result.stdout + result.stderr
    for option in ("--report-json", "--report-junit", "--report-html"):
        if option in args:
            assert Path(args[args.index(option) + 1]).is_file(), option


def test_a_plain_pip_install_gives_every_stage_and_the_console_script(pg_server, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(ROOT)], check=True,
                   capture_output=True, timeout=600)
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    proc = subprocess.run([str(env_dir / "bin" / "alembic-preflight"), "verify", "--project", str(EXAMPLE),
                           "--url", url, "--quiet-progress"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for stage in ("files", "heads", "fresh", "drift", "roundtrip", "lint"):
        assert re.search(rf"✓ {stage}\b", proc.stdout), proc.stdout


def test_the_precommit_snippet_names_the_hooks_this_repository_offers():
    """tests/test_precommit.py installs this very snippet and commits through it."""
    [config] = [yaml.safe_load(body) for body in snippets("yaml") if "repos:" in body]
    offered = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert {hook["id"] for hook in config["repos"][0]["hooks"]} == offered


def test_the_workflow_snippet_passes_actionlint_and_gives_the_action_only_its_inputs(tmp_path):
    [body] = [body for body in snippets("yaml") if "jobs:" in body]
    from test_action import ACTION, actionlint

    proc = actionlint(tmp_path, {"readme-example.yml": body})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = [step for job in yaml.safe_load(body)["jobs"].values() for step in job["steps"]]
    [ours] = [step for step in steps if step.get("uses", "").split("@")[0].endswith("/alembic-preflight")]
    assert set(ours["with"]) <= set(ACTION["inputs"]), ours["with"]
