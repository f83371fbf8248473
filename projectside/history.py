"""The project's revisions, loaded by Alembic as the project has it, described as data."""

from __future__ import annotations

import os

from .context import ProjectFailure


def config(ini: dict):
    """An Alembic Config for alembic.ini as the suite read it: `ini` names the file, the
    section, the pyproject.toml Alembic also reads, and the resolved script and revision
    folders."""
    from alembic.config import Config

    kwargs = {"ini_section": ini["section"]}
    if ini.get("toml"):
        kwargs["toml_file"] = ini["toml"]
    try:
        cfg = Config(ini["path"], **kwargs)
    except TypeError:  # Alembic before 1.16 reads no pyproject.toml
        kwargs.pop("toml_file", None)
        cfg = Config(ini["path"], **kwargs)
    cfg.set_main_option("script_location", ini["script_location"].replace("%", "%%"))
    if ini.get("url"):
        cfg.set_main_option("sqlalchemy.url", ini["url"].replace("%", "%%"))
    return cfg


class History:
    """The ScriptDirectory, loaded once per process."""

    def __init__(self, ini: dict) -> None:
        from alembic.script import ScriptDirectory

        self.ini = ini
        self.script = ScriptDirectory.from_config(config(ini))
        if ini.get("version_locations"):
            self.script.version_locations = list(ini["version_locations"])
        self._order = None

    def order(self) -> list:
        """Every revision, parents before children (the order one-at-a-time upgrades take)."""
        if self._order is None:
            self._order = list(reversed(list(self.script.walk_revisions("base", "heads"))))
        return self._order

    def describe(self) -> dict:
        order = self.order()  # loads every revision file
        return {
            "dir": self.script.dir,
            "env_py": os.path.join(self.script.dir, "env.py"),
            "version_locations": [str(path) for path in self.script._version_locations],
            "recursive_version_locations": bool(getattr(self.script, "recursive_version_locations", False)),
            "heads": list(self.script.get_heads()),
            "revisions": [revision_data(revision) for revision in order],
        }


def revision_data(revision) -> dict:
    module = revision.module
    return {
        "revision": revision.revision,
        "down_revision": _tuple(revision.down_revision),
        "all_down_revisions": list(revision._all_down_revisions),
        "dependencies": _tuple(getattr(revision, "dependencies", None)),
        "branch_labels": sorted(revision.branch_labels or ()),
        "path": revision.path,
        "doc": revision.doc,
        "has_upgrade": callable(getattr(module, "upgrade", None)),
        "has_downgrade": callable(getattr(module, "downgrade", None)),
    }


def _tuple(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def revision_error(exc: BaseException) -> ProjectFailure:
    return ProjectFailure(f"cannot load the revision files: {type(exc).__name__}: {exc}")
