"""Comparators for grants: on tables, views, sequences, columns, functions and schemas, and
the default privileges that ALTER DEFAULT PRIVILEGES gives objects yet to be created."""

from __future__ import annotations

from checks.schema.report import Report, SchemaDifference, pair
from checks.schema.scope import holds_object_of
from checks.schema.snapshot import DefaultPrivilege, Privilege, Snapshot


def compare_privileges(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    def compared(snap: Snapshot) -> list[Privilege]:
        # A grant on an object missing on either side goes with the object's report.
        return [grant for grant in snap.privileges
                if _on_both(grant, expected, actual) and not report.skips(grant.name)]

    _report(report, *pair(compared(expected), compared(actual),
                          lambda p: (p.kind, p.name, p.grantee, p.privilege, p.revoked)))


def compare_default_privileges(report: Report, expected: Snapshot, actual: Snapshot) -> None:
    def compared(snap: Snapshot) -> list[DefaultPrivilege]:
        schemas = set(expected.schemas) & set(actual.schemas)
        return [grant for grant in snap.default_privileges
                if grant.schema is None or (grant.schema in schemas and not report.skips(grant.schema))]

    _report(report, *pair(compared(expected), compared(actual),
                          lambda p: (p.role, p.schema, p.objects, p.grantee, p.privilege, p.revoked)))


def _report(report: Report, pairs, only_expected, only_actual) -> None:
    for exp, act in pairs:
        report.changed(exp.describe(), "grant option", exp.grantable, act.grantable)
    for in_expected, leftovers in ((True, only_expected), (False, only_actual)):
        for grant in leftovers:
            report.one_sided(grant.describe(), in_expected, "WITH GRANT OPTION" if grant.grantable else None)


def _on_both(grant: Privilege, expected: Snapshot, actual: Snapshot) -> bool:
    return holds_object_of(expected, grant) and holds_object_of(actual, grant)


def privilege_statement(diff: SchemaDifference, expected: Snapshot, actual: Snapshot) -> str | None:
    """The GRANT or REVOKE that gives `actual` what `expected` has, for a grant `diff` found
    on one side only; None for any other difference."""
    if diff.property != "exists":
        return None
    for snap, give in ((expected, True), (actual, False)):
        for grant in (*snap.privileges, *snap.default_privileges):
            if grant.describe() == diff.object:
                return grant.statement(give)
    return None
