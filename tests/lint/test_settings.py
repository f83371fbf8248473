"""The lint table of the suite's settings, and suppression comments in revision files."""

from __future__ import annotations

import pytest
from lint_support import codes, copy_fixture, lint

from checks.errors import ConfigError
from checks.lint import parse_lint_settings
from checks.lint.suppress import inline_allows


def test_unknown_rule_codes_are_an_error_naming_them():
    with pytest.raises(ConfigError, match="drop-tabel, no-such-rule"):
        parse_lint_settings({"severity": {"drop-tabel": "off", "no-such-rule": "error"}}, "cfg")
    with pytest.raises(ConfigError, match="drop-colum"):
        parse_lint_settings({"allow": [{"rule": "drop-colum", "reason": "x"}]}, "cfg")


@pytest.mark.parametrize("data, fragment", [
    ({"strictness": True}, "unknown setting"),
    ({"strict": "yes"}, "true or false"),
    ({"severity": {"drop-table": "fatal"}}, "use one of"),
    ({"allow": [{"rule": "drop-table", "revision": "0001"}]}, "give a reason"),
    ({"allow": [{"rule": "drop-table", "reason": "r", "table": "x"}]}, "unknown key"),
    ({"squawk": "ban-char-field"}, "list of squawk rule names"),
])
def test_bad_settings_say_what_to_write(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_lint_settings(data, "cfg")


def test_unknown_code_in_the_config_fails_the_cli(tmp_path, verify):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    (root / "alembic-preflight.toml").write_text(
        'sys_path = ["../_env"]\n[lint.severity]\nmissing-lock-timeuot = "off"\n')
    result = verify(root, "--stage", "lint", "--quiet-progress")
    assert result.code == 2
    assert "missing-lock-timeuot" in result.stderr


def test_severity_off_and_error(tmp_path):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    settings = root / "alembic-preflight.toml"
    settings.write_text('sys_path = ["../_env"]\n[lint.severity]\nmissing-lock-timeout = "off"\n')
    assert lint(root) == []
    settings.write_text('sys_path = ["../_env"]\n[lint.severity]\nmissing-lock-timeout = "error"\n')
    assert ("missing-lock-timeout", "missing_lock_timeout_fires", "error") in codes(lint(root))


def test_strict_in_the_settings(tmp_path):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    (root / "alembic-preflight.toml").write_text('sys_path = ["../_env"]\n[lint]\nstrict = true\n')
    assert codes(lint(root)) == [("missing-lock-timeout", "missing_lock_timeout_fires", "error"),
                                 ("missing-lock-timeout", "missing_lock_timeout_suppressed", "info")]


def test_a_suppression_needs_a_reason(tmp_path):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    path = next((root / "versions").glob("*_suppressed.py"))
    path.write_text(path.read_text().replace(" -- accepted for the fixture: nothing reads it any more", ""))
    found = codes(lint(root))
    assert ("suppression-without-reason", "missing_lock_timeout_suppressed", "warning") in found
    assert ("missing-lock-timeout", "missing_lock_timeout_suppressed", "warning") in found


def test_an_unknown_code_in_a_comment_is_an_error(tmp_path):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    path = next((root / "versions").glob("*_suppressed.py"))
    path.write_text(path.read_text().replace("allow missing-lock-timeout",
                                             "allow missing-lock-timeout, drop-tabel"))
    found = lint(root)
    unknown = [f for f in found if f.code == "unknown-rule"]
    assert len(unknown) == 1 and "drop-tabel" in unknown[0].message and unknown[0].severity.value == "error"
    # The known code on the same line still suppresses.
    assert ("missing-lock-timeout", "missing_lock_timeout_suppressed", "info") in codes(found)


def test_comment_syntax(tmp_path):
    path = tmp_path / "rev.py"
    path.write_text("x = 1  # verify: allow drop-column, rename-column -- replaced by full_name in 3f1c2a\n"
                    "#verify:allow squawk:ban-char-field--legacy data\n")
    allows, problems = inline_allows(str(path), "abc")
    assert problems == []
    reason = "replaced by full_name in 3f1c2a"
    assert [(a.rule, a.reason) for a in allows] == [
        ("drop-column", reason), ("rename-column", reason), ("squawk:ban-char-field", "legacy data")]
    assert all(a.covers(a.rule, "abc", "any.object") for a in allows)
