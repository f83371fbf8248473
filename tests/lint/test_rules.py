"""Each lint rule on its fixture: it fires on the risky revision, not on the safe rewrite,
and a suppressed copy appears as info with its reason."""

from __future__ import annotations

import pytest
from cli_support import FIXTURES, needs_example, run_cli

from checks.lint import RULES

LINT = FIXTURES / "lint"

# The object each rule names on its `<code>_fires` and `<code>_suppressed` revisions;
# None means the revision's own file name.
EXPECTED_OBJECT = {
    "drop-table": "owners",
    "drop-column": "widgets.name",
    "rename-table": "widgets",
    "rename-column": "widgets.name",
    "alter-column-type": "widgets.owner_id",
    "volatile-default": "widgets.token",
    "add-not-null-column": "widgets.color",
    "set-not-null": "widgets.owner_id",
    "create-index-not-concurrent": "ix_widgets_owner_id",
    "drop-index-not-concurrent": "ix_widgets_name",
    "concurrently-in-transaction": "ix_widgets_name_2",
    "constraint-not-valid": "widgets.fk_widgets_owner_id",
    "unique-not-using-index": "widgets.uq_widgets_name",
    "missing-lock-timeout": "widgets",
    "schema-and-data": "widgets",
    "empty-downgrade": "downgrade()",
    "vague-message": "update",
    "offline-unsupported": None,
    "sql-unparsable": None,
}
# missing-lock-timeout needs a project whose env.py sets no lock_timeout.
PROJECT = {"missing-lock-timeout": "no_lock_timeout"}


def slug(code: str) -> str:
    return code.replace("-", "_")


@pytest.fixture(scope="module")
def reports(pg_server, tmp_path_factory):
    """One lint run per fixture project, shared by the rule tests."""
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    results = {}
    for name in ("rules", "no_lock_timeout"):
        report = tmp_path_factory.mktemp(name) / "report.json"
        results[name] = run_cli("verify", "--stage", "lint", "--project", str(LINT / name),
                                "--quiet-progress", url=url, report=report)
    return results


def test_every_rule_has_a_fixture():
    assert set(EXPECTED_OBJECT) == set(RULES)


@pytest.mark.parametrize("code", sorted(EXPECTED_OBJECT))
def test_rule_fires_on_its_fixture_only(reports, code):
    result = reports[PROJECT.get(code, "rules")]
    findings = result.findings("lint", code)
    by_revision = {f["revision"]: f for f in findings}
    assert sorted(by_revision) == [f"{slug(code)}_fires", f"{slug(code)}_suppressed"], findings

    fired = by_revision[f"{slug(code)}_fires"]
    assert fired["severity"] == "warning"
    assert fired["hint"] == RULES[code].fix
    expected = EXPECTED_OBJECT[code]
    if expected is None:
        assert fired["object"].endswith(f"{slug(code)}_fires.py")
    else:
        assert fired["object"] == expected

    suppressed = by_revision[f"{slug(code)}_suppressed"]
    assert suppressed["severity"] == "info"
    assert "suppressed in" in suppressed["message"] and "accepted for the fixture" in suppressed["message"]


@pytest.mark.parametrize("project", ["rules", "no_lock_timeout"])
def test_no_finding_strays_onto_another_revision(reports, project):
    """Safe rewrites and the start revision (tables created in it) stay silent."""
    result = reports[project]
    assert result.code == 0, result.stderr
    for finding in result.findings("lint"):
        assert finding["revision"].startswith(slug(finding["code"]) + "_"), finding


def test_config_suppression_names_its_file(reports):
    suppressed = [f for f in reports["rules"].findings("lint", "rename-table") if f["severity"] == "info"]
    assert "alembic-preflight.toml" in suppressed[0]["message"]


def test_strict_turns_warnings_into_failures(verify):
    result = verify(LINT / "no_lock_timeout", "--stage", "lint", "--strict", "--quiet-progress")
    assert result.code == 1
    severities = {f["revision"]: f["severity"] for f in result.findings("lint", "missing-lock-timeout")}
    assert severities == {"missing_lock_timeout_fires": "error", "missing_lock_timeout_suppressed": "info"}


@needs_example
def test_clean_example_reports_nothing(verify):
    from cli_support import EXAMPLE

    result = verify(EXAMPLE, "--stage", "lint", "--quiet-progress")
    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("lint") == []
    assert result.stage("lint")["status"] == "pass"
