"""The project's own output stays out of the report.

env.py's `fileConfig(config.config_file_name)` logs Alembic's INFO lines to stderr, and
models and apps print as they load: all of it goes to one log file whose path the run
shows once, or to stderr under -v. A dependency that env.py's imports or its logging
config need is reported as what it is, with the command that installs it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from projects import (
    ALEMBIC_INI,
    CREATE_ITEMS,
    DROP_ITEMS,
    ITEMS_MODELS,
    Rev,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)

from checks.project.output import KEEP_LOGS

CHATTY_MODELS = 'print("models loaded: hello from the app")\n' + ITEMS_MODELS
# Alembic's generic template names its own logger: its INFO lines ("Running upgrade") show.
TEMPLATE_LOGGING_INI = ALEMBIC_INI.replace("keys = root\n", "keys = root,alembic\n", 1) + """
[logger_alembic]
level = INFO
handlers =
qualname = alembic
"""


def _log_path(stdout: str) -> Path:
    [line] = [line for line in stdout.splitlines() if "project output" in line]
    return Path(re.search(r": (\S+\.log)$", line).group(1))


def test_project_output_goes_to_a_log_file(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], models=CHATTY_MODELS,
                            files={"alembic.ini": TEMPLATE_LOGGING_INI})
    result = verify(project)
    assert_clean(result)
    for text in ("Running upgrade", "hello from the app"):
        assert text not in result.stdout + result.stderr, result.stdout + result.stderr
    log = _log_path(result.stdout)
    assert log.parent == project / ".alembic-preflight" and log.name.startswith("project-output-"), log
    assert (project / ".alembic-preflight" / "project-output.log").resolve() == log, "the latest run's"
    content = log.read_text()
    assert "INFO [alembic.runtime.migration] Running upgrade  -> 0001" in content
    assert "models loaded: hello from the app" in content
    assert (project / ".alembic-preflight" / ".gitignore").read_text().endswith("*\n")


def test_two_runs_on_one_project_each_keep_their_own_log(verify, tmp_path, monkeypatch):
    models = 'import os\nprint("this is run", os.environ["RUN_MARK"])\n' + ITEMS_MODELS
    project = build_project(tmp_path / "project", [items_revision()], models=models)
    folder = project / ".alembic-preflight"
    folder.mkdir()
    for n in range(6):  # older runs' logs: only the newest few stay
        old = folder / f"project-output-20200101T00000{n}Z-{n}.log"
        old.write_text("old\n")
        os.utime(old, (1_600_000_000 + n, 1_600_000_000 + n))
    logs = []
    for mark in ("one", "two"):
        result = verify(project, "--stage", "fresh", env={"RUN_MARK": mark})
        assert result.code == 0, result.stdout + result.stderr
        logs.append(_log_path(result.stdout))
    assert logs[0] != logs[1], logs
    assert "this is run one" in logs[0].read_text() and "this is run two" not in logs[0].read_text()
    assert "this is run two" in logs[1].read_text()
    kept = sorted(p.name for p in folder.glob("project-output-*.log"))
    assert len(kept) == KEEP_LOGS and {logs[0].name, logs[1].name} <= set(kept), kept
    assert "project-output-20200101T000000Z-0.log" not in kept


def test_project_output_on_the_console_under_verbose(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], models=CHATTY_MODELS,
                            files={"alembic.ini": TEMPLATE_LOGGING_INI})
    result = verify(project, "-v")
    assert_clean(result)
    assert "Running upgrade  -> 0001" in result.stderr and "hello from the app" in result.stderr
    assert "Running upgrade" not in result.stdout and "project output" not in result.stdout


# acme_console: a handler package a project has as a dev dependency, installed nowhere here
# (a real one, rich, may be there as another tool's dependency).
def test_a_logging_handler_from_a_missing_package_is_named(verify, tmp_path):
    ini = ALEMBIC_INI.replace("class = StreamHandler\nargs = (sys.stderr,)",
                              "class = acme_console.logging.FancyHandler\nargs = ()")
    project = build_project(tmp_path / "project", [items_revision()], files={"alembic.ini": ini})
    result = verify(project)
    line = assert_usage_error(
        result, "env.py's logging config needs the package `acme_console` (alembic.ini [handler_console]); "
        "pip install acme_console")
    assert "history" not in line and "failed before running" not in line
    assert result.report is not None and result.stage("fresh")["status"] == "error"


def test_a_missing_package_imported_by_the_models_is_named(verify, tmp_path):
    models = "import acme_telemetry  # a dev dependency not installed here\n" + ITEMS_MODELS
    project = build_project(tmp_path / "project", [items_revision()], models=models)
    assert_usage_error(verify(project), "app/models.py line 1 needs the package `acme_telemetry`",
                       "pip install acme_telemetry", "sys_path")


def test_the_last_words_of_an_env_py_that_exits_explain_it(verify, tmp_path):
    # SystemExit(1) says nothing; what env.py printed before it does.
    exits = 'import sys\nprint("DATABASE_URL is not set; export it first")\nsys.exit(1)\n'
    project = build_project(tmp_path / "project", [items_revision()], files={"migrations/env.py": exits})
    assert_usage_error(verify(project), "SystemExit",
                       'its last output: "DATABASE_URL is not set; export it first"',
                       str(project / ".alembic-preflight" / "project-output-"))


def test_a_missing_module_of_a_present_package_is_not_a_missing_install(verify, tmp_path):
    # The local settings file every developer copies from a template, absent in CI.
    models = "import app.local_settings  # copied from local_settings.py.example\n" + ITEMS_MODELS
    project = build_project(tmp_path / "project", [items_revision()], models=models)
    line = assert_usage_error(verify(project), "app/models.py line 1 imports `app.local_settings`, "
                              "which `app` does not have")
    assert "pip install" not in line


def test_a_logging_handler_the_app_configures_is_named_where_the_app_sets_it(verify, tmp_path):
    # A dictConfig in the app's code, not alembic.ini's sections: the fix is in that file.
    models = ('import logging.config\n'
              'logging.config.dictConfig({"version": 1, "handlers": {"console": '
              '{"class": "acme_console.logging.FancyHandler"}}})\n') + ITEMS_MODELS
    project = build_project(tmp_path / "project", [items_revision()], models=models)
    line = assert_usage_error(verify(project), "the logging config set up at app/models.py line 2 needs "
                              "the package `acme_console`", "pip install acme_console")
    assert "alembic.ini" not in line


def test_revision_code_output_during_lint_goes_to_the_log(verify, tmp_path):
    # env.py without an offline mode: lint runs each revision in a bare offline context,
    # outside env.py's run, and what the revision prints is the project's output still.
    revision = Rev("0001", None, 'print("upgrade says hello")\n' + CREATE_ITEMS,
                   'print("downgrade says hello")\n' + DROP_ITEMS)
    project = build_project(tmp_path / "project", [revision], env="offline_noop")
    result = verify(project, "--stage", "lint")
    [finding] = result.findings("lint", "offline-unsupported")
    assert finding["revision"] is None and result.stage("lint")["status"] == "warn"
    assert "says hello" not in result.stdout + result.stderr, result.stdout + result.stderr
    content = _log_path(result.stdout).read_text()
    assert "upgrade says hello" in content and "downgrade says hello" in content
