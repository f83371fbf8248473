"""Comparators for objects that stand on their own: schemas, extensions, types, sequences,
views and functions."""

from __future__ import annotations

from dataclasses import fields

from checks.schema.normalize import function_key, sql_key
from checks.schema.report import Report, pair
from checks.schema.snapshot import Sequence, Snapshot


def compare_schemas(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    report.presence(expected.schemas, actual.schemas, "schema")


def compare_extensions(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    # Versions are not compared: they follow the server's packages, not the project.
    report.presence(expected.extensions, actual.extensions, "extension")


def compare_enums(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    for obj, exp, act in report.by_name(expected.enums, actual.enums, "enum"):
        # Order matters: it is the enum's sort order.
        report.changed(obj, "labels", exp, act)


def compare_domains(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    for obj, exp, act in report.by_name(expected.domains, actual.domains, "domain"):
        for prop in ("type", "nullable", "default", "checks"):
            report.changed(obj, prop, getattr(exp, prop), getattr(act, prop))


def compare_sequences(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    def comparable(snap: Snapshot) -> list[tuple[str, Sequence]]:
        # A sequence whose column is missing on either side goes with the column's report.
        return [
            (name, seq) for name, seq in snap.sequences.items()
            if not report.skips(name, seq.owned_by or name)
            and (seq.owned_by is None or _column_on_both(seq.owned_by, expected, actual))
        ]

    pairs, only_expected, only_actual = pair(
        comparable(expected), comparable(actual),
        # Serial and identity sequences are named by PostgreSQL or by whoever wrote the DDL.
        lambda item: ("owned by", item[1].owned_by) if item[1].owned_by else ("named", item[0]),
        lambda item: item[0],
    )
    for (name, exp), (_, act) in pairs:
        for prop in (f.name for f in fields(Sequence)):
            report.changed(f"sequence {name}", prop, getattr(exp, prop), getattr(act, prop))
    for in_expected, leftovers in ((True, only_expected), (False, only_actual)):
        for name, seq in leftovers:
            owner = f"owned by {seq.owned_by}" if seq.owned_by else None
            report.one_sided(f"sequence {name}", in_expected, owner)


def compare_views(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    for obj, exp, act in report.by_name(expected.views, actual.views, "view"):
        report.changed(obj, "materialized", exp.materialized, act.materialized)
        report.changed(obj, "definition", exp.definition, act.definition,
                       equal=sql_key(exp.definition) == sql_key(act.definition))


def compare_functions(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    for obj, exp, act in report.by_name(expected.functions, actual.functions, "function"):
        report.changed(obj, "definition", exp, act, equal=function_key(exp) == function_key(act))


def _column_on_both(column: str, expected: Snapshot, actual: Snapshot) -> bool:
    table, name = column.rsplit(".", 1)
    return all(table in snap.tables and name in snap.tables[table].columns for snap in (expected, actual))
