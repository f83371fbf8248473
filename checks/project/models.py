"""The project's models, wherever they live: built into a database, compared by autogenerate,
asked which objects env.py's filters keep, and searched for names PostgreSQL truncates.

`models_of(project)` gives the form for the project: `LocalModels` where the project's code
runs in the suite's process, `RemoteModels` where it runs in its own Python (the models
never leave it; what comes back is plain data). Both run the same code, from `projectside`.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from checks.errors import ProjectError
from checks.project.agent import AgentFailure
from checks.project.project import Project, first_line
from checks.schema import Snapshot
from checks.schema.scope import schema_of
from projectside import autogenerate
from projectside import models as built
from projectside.context import NO_METADATA
from projectside.scope import Filters


class ModelsUnbuildable(Exception):
    """create_all failed on an empty database: what PostgreSQL said, and the statement."""

    def __init__(self, database_says: str, statement: str) -> None:
        super().__init__(database_says)
        self.database_says = database_says
        self.statement = statement


class LocalModels:
    def __init__(self, project: Project) -> None:
        self.project = project
        self._metadatas: list | None = None

    @property
    def metadatas(self) -> list:
        if self._metadatas is None:
            self._metadatas = self.project.target_metadata()
        return self._metadatas

    def build(self, url: str, extensions) -> None:
        try:
            with self.project.env.active():
                built.build(url, self.metadatas, extensions)
        except SQLAlchemyError as exc:
            raise ModelsUnbuildable(first_line(exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc,
                                               limit=1), getattr(exc, "statement", None) or "") from None

    def compare(self, url: str, ignore: frozenset[str]) -> list[tuple[str, str, str]]:
        with self.project.env.active():
            return [tuple(words) for words in
                    autogenerate.compare(url, self.metadatas, self.project.captured.options, ignore)]

    def filters(self, models: Snapshot, head: Snapshot, ignore: frozenset[str]) -> Filters:
        options = self.project.captured.options
        return Filters(options, autogenerate.include_filter(options.get("include_object"), ignore),
                       self.metadatas)

    def long_names(self) -> list[tuple[str, str]]:
        return autogenerate.long_names(self.metadatas)


class RemoteModels:
    """The same questions, asked of the project's own Python (`projectside.__main__`), where
    the models are the target_metadata env.py passed on its last run."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._where = {"metadata": project.metadata_override,
                       "modules": list(project.settings.metadata_modules)}

    def build(self, url: str, extensions) -> None:
        try:
            self._ask("models_build", url=url, extensions=list(extensions))
        except AgentFailure as failure:
            details = failure.details
            said = details.get("database_error") or details.get("message") or details.get("type")
            raise ModelsUnbuildable(first_line(Exception(said), limit=1),
                                    details.get("statement") or "") from None

    def compare(self, url: str, ignore: frozenset[str]) -> list[tuple[str, str, str]]:
        return [tuple(words) for words in self._ask("models_compare", url=url, ignore=sorted(ignore))]

    def filters(self, models: Snapshot, head: Snapshot, ignore: frozenset[str]) -> AnsweredFilters:
        asked = questions(models, head)
        return AnsweredFilters(asked, self._ask("models_filters", questions=asked, ignore=sorted(ignore)))

    def long_names(self) -> list[tuple[str, str]]:
        return [tuple(pair) for pair in self._ask("models_long_names")]

    def _ask(self, op: str, **args):
        try:
            return self.project.process.request(op, **args, **self._where)
        except AgentFailure as failure:
            if failure.details.get("message") == NO_METADATA:
                raise ProjectError(self.project.no_metadata()) from None
            if failure.type == "ProjectFailure" or op != "models_build":
                raise ProjectError(_failed(op, failure.details)) from None
            raise


def _failed(op: str, details: dict) -> str:
    if details.get("type") == "ProjectFailure":
        return str(details.get("message"))
    what = {"models_compare": "autogenerate", "models_filters": "env.py's include filters",
            "models_long_names": "reading the models"}.get(op, op)
    gist = first_line(Exception(details.get("message") or ""), limit=1)
    return (f"{what} failed in the project's Python: {details.get('type')}: {gist}; run `alembic check` "
            "in the project to see it")


def models_of(project: Project) -> LocalModels | RemoteModels:
    return LocalModels(project) if project.process is None else RemoteModels(project)


def questions(*snapshots: Snapshot) -> dict:
    """Everything a scope over these snapshots may ask, for filters that answer in one batch."""
    schemas, tables, columns, named = set(), set(), set(), set()
    for snap in snapshots:
        schemas.update(snap.schemas)
        for name in (*snap.tables, *snap.views, *snap.sequences, *snap.enums, *snap.domains, *snap.functions):
            schemas.add(schema_of(name))
        for table_name, table in snap.tables.items():
            tables.add(table_name)
            columns.update((table_name, column) for column in table.columns)
        named.update((i.table, i.name, "index", tuple(i.columns)) for i in snap.indexes)
        named.update((c.table, c.name, c.kind, tuple(c.columns)) for c in snap.constraints)
    return {"schemas": sorted(schemas), "tables": sorted(tables), "columns": sorted(columns),
            "named": sorted(named)}


class AnsweredFilters:
    """The project's filters' answers to `questions`, read back as `Filters` would answer;
    what was not asked is compared."""

    def __init__(self, asked: dict, answers: dict) -> None:
        self._schemas = dict(zip(asked["schemas"], answers["schemas"], strict=True))
        self._tables = dict(zip(asked["tables"], answers["tables"], strict=True))
        self._columns = dict(zip(asked["columns"], answers["columns"], strict=True))
        self._named = dict(zip(asked["named"], answers["named"], strict=True))

    def schema(self, name: str) -> bool:
        return self._schemas.get(name, True)

    def table(self, name: str) -> bool:
        return self._tables.get(name, True)

    def column(self, table: str, name: str) -> bool:
        return self._columns.get((table, name), True)

    def named(self, table: str, name: str, kind: str, columns) -> bool:
        return self._named.get((table, name, kind, tuple(columns)), True)
