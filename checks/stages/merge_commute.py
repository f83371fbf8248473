"""Merges whose branches commute: proven from what each branch touched, with no other order applied.

Branches that touch disjoint relations build the same schema, with the same rows, in any
order: neither reads nor changes anything the other does. Two views of what a branch
touches are joined, and a merge is proven only where both can be had for every revision
of its branches and the branches' sets meet nowhere:

- read from the revision files: the tables, indexes and constraints each revision's
  `op.*` calls name (a foreign key's table too; in a batch, its `batch_op.*` calls). A
  revision the reading cannot follow (op.execute, its own connection, bulk inserts, a
  helper, an enum or a sequence, `if_exists`, SQL written out that calls a function) has
  no such set, and its merge is not proven. This reading alone decides, before the fresh
  build, whether a merge is to be proven or to have a copy of the database kept before
  its branches (`to_prove`);
- measured by the fresh build (projectside.measure): every relation each statement locked
  (a read, a foreign key's table), changed under a lock held already, rewrote, scanned,
  created or dropped, the version table and the suite's own schema left out. What the
  files' names leave out (the sequence a column owns, a table's partitions) shows here.

The reading leaves only op.* calls that change the schema, never rows: no statement that
reads or writes rows can go unseen under a lock an earlier revision of the transaction
took. A change the measurement may still miss is one to a relation locked already that
writes no pg_class row of it: a table that inherits the one changed (or is its partition,
or its parent). So what ties relations together is read once before the branches and
once after them (schema_access.Ties): each branch's set takes in the tables its own inherit
from or are inherited by, and with an event trigger of the project's (code run on every
DDL statement) no merge is proven.

Where the build recorded the schema around a revision, the revision must also change
nothing that belongs to no relation (schemas, extensions, types, domains, functions,
grants): those are not in the sets above.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from pathlib import Path

from checks.measure.risk import ignoring
from checks.schema.queries import TRACKING_SCHEMA
from checks.schema_access import Ties

# op.* calls and where they name relations: positions and keywords, as Alembic spells them.
_NAMED = {
    "create_table": ((0, "table_name"),),
    "drop_table": ((0, "table_name"),),
    "rename_table": ((0, "old_table_name"), (1, "new_table_name")),
    "add_column": ((0, "table_name"),),
    "drop_column": ((0, "table_name"),),
    "alter_column": ((0, "table_name"),),
    "create_index": ((0, "index_name"), (1, "table_name")),
    "drop_index": ((0, "index_name"), (1, "table_name")),
    "create_unique_constraint": ((0, "constraint_name"), (1, "table_name")),
    "create_primary_key": ((0, "constraint_name"), (1, "table_name")),
    "create_check_constraint": ((0, "constraint_name"), (1, "table_name")),
    "create_exclude_constraint": ((0, "constraint_name"), (1, "table_name")),
    "create_foreign_key": ((0, "constraint_name"), (1, "source_table"), (2, "referent_table")),
    "drop_constraint": ((0, "constraint_name"), (1, "table_name")),
    "create_table_comment": ((0, "table_name"),),
    "drop_table_comment": ((0, "table_name"),),
}
# batch_op.* calls inside `with op.batch_alter_table("t") as batch_op:`, on "t", and where
# they name other relations.
_BATCH_NAMED = {
    "add_column": (), "drop_column": (), "alter_column": (), "create_table_comment": (),
    "drop_table_comment": (), "create_index": ((0, "index_name"),), "drop_index": ((0, "index_name"),),
    "create_unique_constraint": ((0, "constraint_name"),), "create_primary_key": ((0, "constraint_name"),),
    "create_check_constraint": ((0, "constraint_name"),),
    "create_exclude_constraint": ((0, "constraint_name"),), "drop_constraint": ((0, "constraint_name"),),
    "create_foreign_key": ((0, "constraint_name"), (1, "referent_table")),
}
# What op.f(), which marks a name as final, is called on.
_RECEIVERS = ("alembic.op", "batch")
# SQLAlchemy constructs that make or name something besides relations, or that are only
# ever read by code the reading does not follow.
_UNFOLLOWED = {"Enum", "ENUM", "DOMAIN", "Sequence", "DDL", "event", "table", "select", "insert", "update",
               "delete"}
# Keywords that make a call done or not depending on what is there (on what the other
# branch did), or tie a new table to others.
_UNFOLLOWED_KEYWORDS = {"if_exists", "if_not_exists", "postgresql_inherits"}
# SQL written out (a server default, a CHECK, a USING) may call a function, and a function
# may read any table: only these, which read none, and casts and lists, are followed.
_CALLED = re.compile(r"([A-Za-z_][A-Za-z_0-9]*)\s*\(")
_SQL_FOLLOWED = {
    "now", "current_timestamp", "current_date", "localtimestamp", "clock_timestamp", "statement_timestamp",
    "transaction_timestamp", "timezone", "gen_random_uuid", "uuid_generate_v4", "lower", "upper", "length",
    "char_length", "btrim", "trim", "coalesce", "nullif", "abs", "round", "jsonb_typeof", "json_typeof",
    "array_length", "cardinality", "in", "any", "all", "array", "numeric", "decimal", "varchar", "character",
    "char", "timestamp", "time", "interval", "bit", "and", "or", "not",
}
# What a revision may change besides relations and their parts: the schema's other fields.
_NOT_RELATIONS = ("schemas", "extensions", "enums", "domains", "functions", "default_privileges")
# Grants on these are a relation's part (a new table gets the default privileges' own).
_RELATION_GRANTS = {"table", "view", "materialized view", "foreign table", "sequence", "column"}


class _Unreadable(Exception):
    """The reading cannot tell what a revision touches."""


def named_in_file(path: str) -> frozenset[str] | None:
    """The names of the relations (tables, indexes, constraints) the upgrade() of the
    revision at `path` names, schema left off; None where it does more than op.* calls on
    named relations."""
    try:
        return _named_in_file(path, os.stat(path).st_mtime_ns)
    except OSError:
        return None


@functools.lru_cache(maxsize=4096)
def _named_in_file(path: str, mtime_ns: int) -> frozenset[str] | None:
    """named_in_file's, read once per version of the file (the stage asks before the build
    and after it)."""
    try:
        module = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    upgrades = [node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"]
    if len(upgrades) != 1 or upgrades[0].decorator_list:
        return None
    sources = _imports(module)
    names: set[str] = set()
    try:
        for statement in upgrades[0].body:
            if isinstance(statement, ast.Pass):
                continue
            if isinstance(statement, ast.With):
                names |= _batch(statement, sources)
                continue
            if not isinstance(statement, ast.Expr):
                raise _Unreadable
            if isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str):
                continue  # a docstring
            names |= _call(statement.value, sources, "alembic.op", _NAMED)
    except _Unreadable:
        return None
    return frozenset(names)


def _imports(module: ast.Module) -> dict[str, str]:
    """Module-level names and the module each was imported from (`op`: alembic's), less
    those the module binds to anything else too."""
    sources, bound = {}, set()
    for node in module.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                sources[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                sources[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif not isinstance(node, ast.FunctionDef):
            bound |= {name.id for name in ast.walk(node) if isinstance(name, ast.Name)
                      and isinstance(name.ctx, ast.Store)}
        elif node.name != "upgrade":
            bound.add(node.name)
    return {name: source for name, source in sources.items() if name not in bound}


def _call(node: ast.AST, sources: dict[str, str], receiver: str, named: dict) -> set[str]:
    """The relations a call of `receiver`'s (alembic's op, or a batch's alias) names: where
    `named` says, and in the foreign keys of its arguments."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and sources.get(node.func.value.id) == receiver
            and node.func.attr in named):
        raise _Unreadable
    if any(keyword.arg in _UNFOLLOWED_KEYWORDS or keyword.arg is None for keyword in node.keywords):
        raise _Unreadable
    names = set()
    for position, keyword in named[node.func.attr]:
        given = node.args[position] if position < len(node.args) else next(
            (k.value for k in node.keywords if k.arg == keyword), None)
        if given is None:
            if node.func.attr == "drop_index" and keyword == "table_name":
                continue  # PostgreSQL finds the index by its name alone
            raise _Unreadable
        names.add(_literal(given, sources))
    for argument in [*node.args, *(k.value for k in node.keywords)]:
        names |= _construct(argument, sources)
    return names


def _batch(statement: ast.With, sources: dict[str, str]) -> set[str]:
    """`with op.batch_alter_table("t") as batch_op:` and the batch_op.* calls in it."""
    if len(statement.items) != 1 or not isinstance(statement.items[0].optional_vars, ast.Name):
        raise _Unreadable
    opened, alias = statement.items[0].context_expr, statement.items[0].optional_vars.id
    names = _call(opened, sources, "alembic.op", {"batch_alter_table": ((0, "table_name"),)})
    batch = {**sources, alias: "batch"}
    for inner in statement.body:
        if not isinstance(inner, ast.Expr):
            raise _Unreadable
        names |= _call(inner.value, batch, "batch", _BATCH_NAMED)
    return names


def _literal(node: ast.AST, sources: dict[str, str]) -> str:
    """A name written out, or as op.f("...")."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "f"
            and isinstance(node.func.value, ast.Name) and sources.get(node.func.value.id) in _RECEIVERS
            and len(node.args) == 1 and not node.keywords):
        node = node.args[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _bare(node.value)
    raise _Unreadable


def _construct(node: ast.AST, sources: dict[str, str]) -> set[str]:
    """The tables foreign keys inside an argument name; _Unreadable where it calls anything
    but SQLAlchemy's constructs, or names anything but literals."""
    names: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Constant) and isinstance(inner.value, str) and (
                re.search(r"\bselect\b", inner.value, re.IGNORECASE)
                or {name.lower() for name in _CALLED.findall(inner.value)} - _SQL_FOLLOWED):
            raise _Unreadable  # SQL that reads a table, or may: a function the reading cannot follow
        if isinstance(inner, ast.Name) and not sources.get(inner.id, "").startswith("sqlalchemy") \
                and sources.get(inner.id) not in _RECEIVERS:
            raise _Unreadable  # a variable, a helper: what it holds is not in the file's text
        if not isinstance(inner, ast.Call):
            continue
        called = _dotted(inner.func)
        if called is None or called[-1] in _UNFOLLOWED or not sources.get(called[0], "").startswith(
                "sqlalchemy") and not (sources.get(called[0]) in _RECEIVERS and called[1:] == ["f"]):
            raise _Unreadable
        if called[-1] == "ForeignKey" and inner.args:
            names.add(_referent(inner.args[0]))
        elif called[-1] == "ForeignKeyConstraint" and len(inner.args) > 1:
            if not isinstance(inner.args[1], (ast.List, ast.Tuple)):
                raise _Unreadable
            names |= {_referent(target) for target in inner.args[1].elts}
        elif called[-1] in ("ForeignKey", "ForeignKeyConstraint"):
            raise _Unreadable
    return names


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _referent(node: ast.AST) -> str:
    """The table of "table.column" (or "schema.table.column")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
        return _bare(node.value.rsplit(".", 2)[-2])
    raise _Unreadable


def _bare(relation: str) -> str:
    """A relation's name without its schema, in one case: two names that may be one meet."""
    return relation.rpartition(".")[2].lower()


def _branches_alone(merge) -> bool:
    """Whether, from the first branch revision to the merge, the build applied only the
    branches' own revisions, each of one branch: each branch then moves whole."""
    everything = frozenset().union(*merge.branches)
    if sum(len(revisions) for revisions in merge.branches) != len(everything):
        return False  # a revision two branches stand on, and the third not
    return all(script.revision in everything for script in merge.ours[:-1])


def _meet(sets: list[frozenset[str] | set[str]]) -> bool:
    seen: set[str] = set()
    for names in sets:
        if seen & names:
            return True
        seen |= names
    return False


def likely_disjoint(merge) -> bool:
    """From the revision files alone, before anything runs: whether the branches of `merge`
    look disjoint enough for the build's measurements to prove them so."""
    if not _branches_alone(merge):
        return False
    paths = {script.revision: script.path for script in merge.ours}
    named = []
    for revisions in merge.branches:
        found = [named_in_file(paths[revision]) for revision in revisions]
        if any(names is None for names in found):
            return False
        named.append(frozenset().union(*found))
    return not _meet(named)


def to_prove(run, merge) -> bool:
    """Whether the build is to measure what the proof of `merge` needs instead of keeping a
    copy of the database before its branches: measuring is on, the whole history is walked
    (a pull request's base is applied unmeasured), and the files say the branches are apart."""
    return run.project.settings.measure and run.scope is None and likely_disjoint(merge)


def plan(checkpoints, merge) -> None:
    """What the build reads for the proof: what ties relations together (schema_access.Ties),
    before the branches and after them."""
    if merge.start:
        checkpoints.ties[merge.start - 1] = None
    checkpoints.ties[merge.at] = None


def proven(run, build, merge) -> bool:
    """Whether the branches of `merge` touched disjoint relations, by both the revision
    files and what the fresh build measured, with the tables that inherit them, and
    changed nothing else: every order of them then builds what the build's did."""
    checkpoints = build.checkpoints
    if not to_prove(run, merge) or checkpoints is None:
        return False
    before = checkpoints.ties.get(merge.start - 1) if merge.start else Ties(frozenset(), frozenset())
    after = checkpoints.ties.get(merge.at)
    if before is None or after is None or before.event_triggers or after.event_triggers:
        return False  # an event trigger's code runs on any DDL, and may touch anything
    ignored = ignoring(run.version_table, run.project.captured.options.get("version_table_schema"),
                       (TRACKING_SCHEMA,))
    paths = {script.revision: script.path for script in merge.ours}
    touched = []
    for revisions in merge.branches:
        names: set[str] = set()
        for revision in revisions:
            measured = _measured(build.measured.get(revision), ignored)
            if measured is None or _changes_more(build, revision):
                return False
            names |= measured | named_in_file(paths[revision])
        touched.append(_with_relatives(names, before.inherits | after.inherits))
    return not _meet(touched)


def _with_relatives(names: set[str], pairs: frozenset[tuple[str, str]]) -> set[str]:
    """`names` and every table that inherits from one of them, or that one inherits from,
    at any remove."""
    pairs = {(_bare(child), _bare(parent)) for child, parent in pairs}
    found, todo = set(names), list(names)
    while todo:
        name = todo.pop()
        for child, parent in pairs:
            for one, other in ((child, parent), (parent, child)):
                if one == name and other not in found:
                    found.add(other)
                    todo.append(other)
    return found


def _measured(record: dict | None, ignored) -> set[str] | None:
    """Every relation one revision's statements touched, by name, schema left off; None
    where a statement went unmeasured or ran outside a transaction (its locks unseen). The
    revision's totals count too: read across a commit (env.py's transaction_per_migration
    began the revision's own), they hold what its transaction took."""
    if not record or not record.get("captured") or record.get("failure") or not record.get("totals"):
        return None
    statements = record["statements"]
    if any(not part.get("measured") or part.get("outside_transaction") for part in statements):
        return None
    names = set()
    for part in [*statements, record["totals"]]:
        for key in ("locks", "held", "rewrites", "created", "dropped", "scans"):
            for item in part.get(key) or ():
                names |= {_bare(name) for name in (item.get("relation"), item.get("table"))
                          if name and not ignored(name)}
    return names if record["totals"].get("measured") else None


def _changes_more(build, revision: str) -> bool:
    """Whether the schema around `revision`, where the build recorded it, changed anything
    that is not a relation or a part of one."""
    before, after = build.before.get(revision), build.after.get(revision)
    if before is None or after is None:
        return False
    if any(getattr(before, name) != getattr(after, name) for name in _NOT_RELATIONS):
        return True
    return _other_grants(before) != _other_grants(after)


def _other_grants(snapshot) -> set:
    return {grant for grant in snapshot.privileges if grant.kind not in _RELATION_GRANTS}
