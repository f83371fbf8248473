"""Which Python runs the project's code: the one its own `alembic` command would run in."""

from __future__ import annotations

import sys
import venv

import pytest

from checks.errors import ConfigError
from checks.project.interpreter import choose


@pytest.fixture
def project_with_venv(tmp_path):
    venv.create(tmp_path / ".venv", with_pip=False, symlinks=True)
    return tmp_path


def test_the_projects_own_venv_comes_before_the_suites_interpreter(project_with_venv, monkeypatch):
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    chosen = choose(project_with_venv)
    assert chosen.path == str(project_with_venv / ".venv" / "bin" / "python") and chosen.source == ".venv"


def test_an_active_virtual_environment_comes_before_the_projects_folder(project_with_venv, tmp_path_factory,
                                                                        monkeypatch):
    active = tmp_path_factory.mktemp("active")
    venv.create(active, with_pip=False, symlinks=True)
    monkeypatch.setenv("VIRTUAL_ENV", str(active))
    assert choose(project_with_venv).path == str(active / "bin" / "python")


def test_given_beats_the_setting_and_a_folder_names_its_interpreter(project_with_venv, monkeypatch):
    monkeypatch.setenv("VIRTUAL_ENV", "/nowhere")
    chosen = choose(project_with_venv, given=sys.executable, setting=".venv")
    assert (chosen.path, chosen.source) == (sys.executable, "--python")
    by_setting = choose(project_with_venv, setting=".venv", setting_source="pyproject.toml")
    assert by_setting.path == str(project_with_venv / ".venv" / "bin" / "python")
    assert by_setting.source == "the python setting (pyproject.toml)"


def test_no_environment_anywhere_is_the_suites_own(tmp_path, monkeypatch):
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert choose(tmp_path).path == sys.executable


def test_a_path_that_is_no_interpreter_is_one_line_that_says_what_to_give(tmp_path):
    with pytest.raises(ConfigError, match=r"--python: .*missing is not a Python interpreter; give the path"):
        choose(tmp_path, given=str(tmp_path / "missing"))
