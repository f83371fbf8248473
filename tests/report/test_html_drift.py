"""The HTML report's drift table puts the models' side and the migrations' side in columns."""

from __future__ import annotations

from checks.report.html import _sides
from checks.result import Finding, Severity


def sides(obj: str, message: str) -> tuple[str, str, str]:
    return _sides(Finding(Severity.ERROR, "drift-catalog", message, object=obj))


def test_a_changed_property_is_split_into_both_sides():
    assert sides("orders.ck", "orders.ck: definition CHECK ((total > (0)::numeric)) in models, "
                              "CHECK ((total >= (0)::numeric)) in migrations") == \
        ("definition", "CHECK ((total > (0)::numeric))", "CHECK ((total >= (0)::numeric))")


def test_an_object_on_one_side_only_shows_where_it_is():
    assert sides("table tags", "table tags: exists in migrations, missing in models") == \
        ("exists", "missing", "present")
    index = "index ix: exists in models, missing in migrations: CREATE INDEX ix ON t (a)"
    assert sides("index ix", index) == ("exists", "CREATE INDEX ix ON t (a)", "missing")
