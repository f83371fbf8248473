"""What a command imports: only its own module and what it runs.

Every run of `python -m checks verify` (each commit's hook, each CI job) pays for what the
CLI imports before the first revision is read; importing every command (the bench's
unittest.mock, the doctor, the drills) cost more than Alembic's own start. Checked by
module name in a new interpreter, never by time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import ROOT
from projects import Rev, build_project, items_revision

from checks.commands import HELP, load

# Runs `main(argv)` and writes the exit code and the names of the imported modules.
PROBE = """
import json, sys
from checks.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:  # --help
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

# Modules no verify of the files alone needs: other commands and their packages, the stages
# not chosen, the reports not asked for, the pull-request cache.
NEVER_FOR_FILES = ("unittest.mock", "checks.bench", "checks.doctor", "checks.drills", "checks.recovery",
                   "checks.commands.bench", "checks.commands.doctor", "checks.commands.backup",
                   "checks.stages.lint", "checks.stages.recovery", "checks.stages.roundtrip", "pglast",
                   "checks.report.html", "checks.report.junit", "checks.pullrequest.cache", "docker",
                   "harness.compose", "harness.local")


def imported(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    result = tmp_path / "imported.json"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(result), *argv], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert result.is_file(), proc.stdout + proc.stderr
    data = json.loads(result.read_text())
    return data["code"], set(data["modules"])


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for name in names if m == name or m.startswith(name + "."))


def test_help_lists_every_command_and_imports_none(tmp_path):
    code, modules = imported(tmp_path, "--help")
    assert code == 0
    assert loaded(modules, tuple(f"checks.commands.{name.replace('-', '_')}" for name in HELP)) == []
    assert loaded(modules, ("alembic", "sqlalchemy", "psycopg", "unittest.mock")) == []


def test_verify_help_imports_no_other_command(tmp_path):
    code, modules = imported(tmp_path, "verify", "--help")
    assert code == 0
    assert "checks.commands.verify" in modules
    assert loaded(modules, ("unittest.mock", "checks.bench", "checks.doctor", "checks.commands.bench",
                            "checks.commands.doctor", "checks.drills", "pglast", "docker")) == []


def test_verify_of_the_files_imports_only_what_it_runs(tmp_path):
    project = build_project(tmp_path / "project", [items_revision()])
    code, modules = imported(tmp_path, "verify", "--project", str(project), "--stage", "files",
                             "--stage", "heads", "--backend", "none", "--quiet-progress")
    assert code == 0
    assert {"checks.stages.files", "checks.stages.heads"} <= modules
    assert loaded(modules, NEVER_FOR_FILES) == []


@pytest.mark.parametrize("name", HELP)
def test_every_listed_command_has_a_module(name):
    module = load(name)
    assert callable(module.add_arguments) and callable(module.run)


def test_every_command_module_is_listed():
    # argument sets, not commands
    shared = {"__init__", "pr_args", "project_args", "rolling_args", "target_args"}
    modules = {p.stem for p in (ROOT / "checks" / "commands").glob("*.py")} - shared
    assert modules == {name.replace("-", "_") for name in HELP}


def test_a_pull_request_on_a_warm_cache_imports_no_dump_machinery(pg_server, tmp_path):
    # pg_dump (and the backup command's code that finds it) only serves a run that stores a base.
    project = build_project(tmp_path / "project", [items_revision(), Rev("0002", "0001")])
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    argv = ("verify", "--project", str(project), "--url", url, "--stage", "fresh", "--since", "0001",
            "--cache", str(tmp_path / "cache"), "--quiet-progress")
    cold, stored = imported(tmp_path, *argv)
    warm, restored = imported(tmp_path, *argv)
    assert (cold, warm) == (0, 0)
    assert {"checks.pullrequest.cache", "harness.client_tools"} <= stored
    assert "checks.pullrequest.cache" in restored
    assert loaded(restored, ("checks.recovery", "harness.client_tools", "harness.binaries")) == []
