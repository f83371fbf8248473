"""Compare two snapshots and report only the differences PostgreSQL would act on differently."""

from __future__ import annotations

from collections.abc import Iterable

from checks.schema import compare_objects, compare_privileges, compare_tables
from checks.schema.report import Report, SchemaDifference
from checks.schema.snapshot import Snapshot

# One comparator per kind of object, in the order a reader wants the differences:
# containers before their contents. A new kind of object needs a comparator here.
COMPARATORS = (
    compare_objects.compare_schemas,
    compare_objects.compare_extensions,
    compare_objects.compare_enums,
    compare_objects.compare_domains,
    compare_tables.compare_tables,
    compare_tables.compare_constraints,
    compare_tables.compare_indexes,
    compare_tables.compare_triggers,
    compare_tables.compare_policies,
    compare_objects.compare_sequences,
    compare_objects.compare_views,
    compare_objects.compare_functions,
    compare_privileges.compare_privileges,
    compare_privileges.compare_default_privileges,
)


def diff_snapshots(
    expected: Snapshot,
    actual: Snapshot,
    expected_label: str = "models",
    actual_label: str = "migrations",
    ignore: Iterable[str] = frozenset(),
) -> list[SchemaDifference]:
    """Every real difference between two schemas; an empty list means they agree.

    `ignore` holds names to skip, with everything inside them: "audit_log",
    "app.audit_log", "users.legacy_flag".
    """
    report = Report(expected_label, actual_label, ignore)
    for compare in COMPARATORS:
        compare(report, expected, actual)
    return report.differences


def schema_differences(expected: Snapshot, found: Snapshot, **labels: str) -> list[SchemaDifference]:
    """What differs between two databases' schemas, judged as the round trip judges a step:
    what the diff ignores (names PostgreSQL generated, the order of columns) does not make
    them two schemas; an empty list means one. Equal snapshots are not compared again."""
    return [] if found == expected else diff_snapshots(expected, found, **labels)
