"""Comparators for tables and what hangs off them: columns, constraints, indexes, triggers."""

from __future__ import annotations

from typing import TypeVar

from checks.schema.normalize import default_key, expression_key, foreign_key_parts
from checks.schema.report import Report, pair
from checks.schema.snapshot import Constraint, Index, Policy, Snapshot, Trigger

_TABLE_PROPERTIES = ("kind", "partition_key", "partition_of", "partition_bound", "comment")
_COLUMN_PROPERTIES = ("type", "nullable", "identity", "generated", "collation", "comment")
_Item = TypeVar("_Item", Constraint, Index, Trigger, Policy)

_CONSTRAINT_KINDS = {
    "p": "primary key",
    "u": "unique constraint",
    "f": "foreign key",
    "c": "check constraint",
    "x": "exclusion constraint",
}


def compare_tables(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    expected_owners, actual_owners = _sequence_owners(expected), _sequence_owners(actual)
    for obj, exp, act in report.by_name(expected.tables, actual.tables, "table"):
        for prop in _TABLE_PROPERTIES:
            report.changed(obj, prop, getattr(exp, prop), getattr(act, prop))
        table = obj.removeprefix("table ")
        for column, exp_col, act_col in report.by_name(exp.columns, act.columns, "", f"{table}."):
            for prop in _COLUMN_PROPERTIES:
                report.changed(column, prop, getattr(exp_col, prop), getattr(act_col, prop))
            report.changed(
                column, "default", exp_col.default, act_col.default,
                equal=default_key(exp_col.default, expected_owners)
                == default_key(act_col.default, actual_owners),
            )


def compare_constraints(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    pairs, only_expected, only_actual = pair(
        _on_shared_relations(report, expected.constraints, expected, actual),
        _on_shared_relations(report, actual.constraints, expected, actual),
        # Generated and explicit names differ for the same constraint: match on meaning.
        lambda c: (c.table, c.kind, expression_key(c.definition)),
        lambda c: (c.table, c.kind, c.columns),
        lambda c: (c.table, c.kind, c.name),
    )
    for exp, act in pairs:
        if expression_key(exp.definition) != expression_key(act.definition):
            _report_changed_constraint(report, exp, act)
    for in_expected, leftovers in ((True, only_expected), (False, only_actual)):
        for con in leftovers:
            report.one_sided(constraint_object(con), in_expected, con.definition)


def _report_changed_constraint(report: Report, exp: Constraint, act: Constraint) -> None:
    obj = constraint_object(exp)
    exp_parts = foreign_key_parts(exp.definition) if exp.kind == "f" else None
    act_parts = foreign_key_parts(act.definition) if act.kind == "f" else None
    if exp_parts and act_parts:
        # Name the clause that changed ("on_delete"), not just the whole definition.
        exp_parts["columns"], act_parts["columns"] = exp.columns, act.columns
        found = [report.changed(obj, prop, exp_parts[prop], act_parts[prop]) for prop in exp_parts]
        if any(found):
            return
    report.changed(obj, "definition", exp.definition, act.definition)


def compare_indexes(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    pairs, only_expected, only_actual = pair(
        _on_shared_relations(report, expected.indexes, expected, actual),
        _on_shared_relations(report, actual.indexes, expected, actual),
        lambda i: (i.table, expression_key(i.definition)),
        lambda i: (i.table, i.columns),
        lambda i: (i.table, i.name),
    )
    _report_definitions(report, "index", pairs, only_expected, only_actual)


def compare_triggers(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    # Trigger names are always written by hand, so they identify the trigger.
    pairs, only_expected, only_actual = pair(
        _on_shared_relations(report, expected.triggers, expected, actual),
        _on_shared_relations(report, actual.triggers, expected, actual),
        lambda t: (t.table, t.name),
    )
    _report_definitions(report, "trigger", pairs, only_expected, only_actual)


def compare_policies(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    for table in sorted(expected.tables.keys() & actual.tables.keys()):
        if not report.skips(table):
            report.changed(f"table {table}", "row_security", expected.row_security.get(table, "off"),
                           actual.row_security.get(table, "off"))
    # Policy names are written by hand, like trigger names.
    pairs, only_expected, only_actual = pair(
        _on_shared_relations(report, expected.policies, expected, actual),
        _on_shared_relations(report, actual.policies, expected, actual),
        lambda p: (p.table, p.name),
    )
    _report_definitions(report, "policy", pairs, only_expected, only_actual)


def _report_definitions(report: Report, kind: str, pairs, only_expected, only_actual) -> None:
    """Paired objects whose definitions differ, then those found on one side only."""
    for exp, act in pairs:
        report.changed(f"{kind} {exp.table}.{exp.name}", "definition", exp.definition, act.definition,
                       equal=expression_key(exp.definition) == expression_key(act.definition))
    for in_expected, leftovers in ((True, only_expected), (False, only_actual)):
        for obj in leftovers:
            report.one_sided(f"{kind} {obj.table}.{obj.name}", in_expected, obj.definition)


def constraint_object(con: Constraint) -> str:
    """How differences name a constraint: "unique constraint items.items_name_key"."""
    return f"{_CONSTRAINT_KINDS[con.kind]} {con.table}.{con.name}"


def _on_shared_relations(
    report: Report, items: tuple[_Item, ...], expected: Snapshot, actual: Snapshot,
) -> list[_Item]:
    # A missing table is reported once, not again for each of its constraints and indexes.
    shared = (expected.tables.keys() | expected.views.keys()) & (actual.tables.keys() | actual.views.keys())
    return [
        item for item in items
        if item.table in shared
        # Triggers have no columns; an ignored column takes its constraints and indexes along.
        and not report.skips(item.table, *(f"{item.table}.{col}" for col in getattr(item, "columns", ())))
    ]


def _sequence_owners(snap: Snapshot) -> dict[str, str]:
    return {name: seq.owned_by for name, seq in snap.sequences.items() if seq.owned_by}
