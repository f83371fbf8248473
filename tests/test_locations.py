"""Where Alembic looks is Alembic's decision: the suite reads revisions and imports the
project exactly where `alembic`, run from the project folder, would.

Shapes met in real projects: an installed package beside a same-named module in the
project folder, alembic.ini kept in another folder, scripts inside a package
(`package:folder`), revisions split over several folders, revision folders set by a
wrapper at run time, and alembic.ini files that are templates.
"""

from __future__ import annotations

import os

import pytest
from alembic.config import Config
from projects import (
    ALEMBIC_INI,
    ENVS,
    ITEMS_MODELS,
    Rev,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)

# An installed project's ini: nothing on sys.path, the URL a template filled in by deployment.
INSTALLED_INI = ALEMBIC_INI.replace("prepend_sys_path = .\n", "") \
    .replace("postgresql+psycopg://nobody@unreachable.invalid/none", "${DATABASE_URL}")
TAGS_MODELS = ITEMS_MODELS + \
    'tags = sa.Table("tags", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
CREATE_TAGS = Rev("0002", "0001", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))',
                  'op.drop_table("tags")')


def test_an_installed_package_is_not_shadowed_by_the_project_folder(verify, tmp_path):
    # The `alembic` console script does not put the working directory on sys.path, so the
    # dev server's app.py never hides the installed `app` package from env.py.
    site = tmp_path / "site-packages"
    project = build_project(tmp_path / "project", [items_revision()], package_dir="../site-packages",
                            files={"alembic.ini": INSTALLED_INI,
                                   "app.py": 'raise RuntimeError("the dev server, not the package")\n'})
    assert (site / "app" / "models.py").is_file() and not (project / "app").exists()
    pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    assert_clean(verify(project, env={"PYTHONPATH": pythonpath}))


def test_alembic_ini_outside_the_project_folder(verify, tmp_path):
    # `alembic -c ../config/alembic.ini upgrade head`, run from the project folder: relative
    # paths in the ini are read from there, not from the ini's folder.
    ini = ALEMBIC_INI.replace("%(here)s/migrations", "migrations")
    project = build_project(tmp_path / "project", [items_revision()], files={"../config/alembic.ini": ini})
    (project / "alembic.ini").unlink()
    assert_clean(verify(project, "--alembic-ini", "../config/alembic.ini"))


def test_scripts_in_a_package_and_revisions_in_two_folders(verify, tmp_path):
    # script_location = package:folder, version_locations in Alembic's legacy comma/space
    # form (no path_separator) with %(here)s.
    ini = ALEMBIC_INI.replace("script_location = %(here)s/migrations",
                              "script_location = app:db\n"
                              "version_locations = %(here)s/migrations/versions, %(here)s/more_versions")
    project = build_project(tmp_path / "project", [items_revision()], models=TAGS_MODELS, files={
        "alembic.ini": ini, "app/db/env.py": (ENVS / "sync_template.py").read_text(),
        f"more_versions/{CREATE_TAGS.filename}": CREATE_TAGS.source()})
    (project / "migrations" / "env.py").unlink()
    assert_clean(verify(project))


def test_revision_folders_set_at_run_time_come_from_the_settings(verify, tmp_path):
    # A plugin system's wrapper gathers each plugin's versions folder and calls
    # Config.set_main_option("version_locations", ...) before running Alembic; alembic.ini
    # alone leads nowhere, and the message says which setting helps.
    project = build_project(tmp_path / "project", [items_revision()], models=TAGS_MODELS, files={
        f"plugins/tags/alembic/versions/{CREATE_TAGS.filename}": CREATE_TAGS.source()})
    (project / "plugins" / "core" / "alembic").mkdir(parents=True)
    (project / "migrations" / "versions").rename(project / "plugins" / "core" / "alembic" / "versions")
    assert_usage_error(verify(project), "no revision folder", "version_locations")

    (project / "pyproject.toml").write_text(
        '[tool.alembic-preflight]\nversion_locations = ["plugins/*/alembic/versions"]\n')
    assert_clean(verify(project))


def test_a_missing_scripts_folder_names_script_location(verify, tmp_path):
    ini = ALEMBIC_INI.replace("%(here)s/migrations", "alembic")
    project = build_project(tmp_path / "project", [items_revision()], files={"alembic.ini": ini})
    assert_usage_error(verify(project), "scripts folder", "alembic does not exist", "script_location",
                       "--alembic-ini")


def test_a_project_package_off_sys_path_names_prepend_sys_path(verify, tmp_path):
    # `alembic` would fail the same way: the ini does not put the project folder on sys.path.
    ini = ALEMBIC_INI.replace("prepend_sys_path = .\n", "")
    project = build_project(tmp_path / "project", [items_revision()], package_dir="src",
                            files={"alembic.ini": ini})
    assert_usage_error(verify(project), "migrations/env.py line 7 imports `app`", "prepend_sys_path = src",
                       'sys_path = ["src"]')


# Alembic 1.16's pyproject template: [tool.alembic] holds the paths, alembic.ini the URL and logging.
PYPROJECT_INI = ALEMBIC_INI.replace("script_location = %(here)s/migrations\nprepend_sys_path = .\n", "")
PYPROJECT = """\
[tool.alembic]
script_location = "%(here)s/migrations"
prepend_sys_path = ["."]
"""


@pytest.mark.skipif(not hasattr(Config, "get_alembic_option"), reason="Alembic < 1.16: no pyproject")
def test_paths_in_pyproject_toml(verify, tmp_path):
    assert "script_location" not in PYPROJECT_INI
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"alembic.ini": PYPROJECT_INI, "pyproject.toml": PYPROJECT})
    assert_clean(verify(project))


@pytest.mark.parametrize("shared", ["", "[alembic]\nfile_template = %%(rev)s\n\n"],
                         ids=["no [alembic]", "[alembic] with shared options only"])
def test_an_ini_with_named_environments_says_which_setting_picks_one(verify, tmp_path, shared):
    # Several Alembic environments in one file, run with `alembic -n core` (dispatch's shape).
    ini = ALEMBIC_INI.replace("[alembic]\n", shared + "[core]\n")
    project = build_project(tmp_path / "project", [items_revision()], files={"alembic.ini": ini})
    assert_usage_error(verify(project), "ini_section = \"core\"", "alembic -n")

    (project / "pyproject.toml").write_text('[tool.alembic-preflight]\nini_section = "core"\n')
    assert_clean(verify(project))


def test_a_missing_alembic_ini_names_where_its_path_came_from(verify, tmp_path):
    # No settings at all: there is no "settings source" to name, only where one would go.
    project = build_project(tmp_path / "project", [items_revision()])
    (project / "alembic.ini").rename(project / "migrations.ini")
    line = assert_usage_error(verify(project), f"no alembic.ini at {project / 'alembic.ini'}",
                              "--alembic-ini FILE", "[tool.alembic-preflight]", "alembic-preflight.toml")
    assert "defaults" not in line

    # The setting named it: that setting, its value and its file.
    (project / "pyproject.toml").write_text('[tool.alembic-preflight]\nalembic_ini = "config/alembic.ini"\n')
    assert_usage_error(verify(project), "alembic_ini = 'config/alembic.ini'",
                       f"{project / 'pyproject.toml'} [tool.alembic-preflight]")

    # The option named it: the option, not the setting it overrides.
    line = assert_usage_error(verify(project, "--alembic-ini", "elsewhere.ini"),
                              "--alembic-ini elsewhere.ini names no file")
    assert "alembic_ini =" not in line and "pyproject.toml" not in line
