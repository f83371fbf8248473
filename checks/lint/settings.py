"""The lint stage's settings: the `lint` table of the suite's configuration.

    [tool.alembic-preflight.lint]
    strict = false                      # warnings fail the stage, like --strict
    all = false                         # lint released revisions (revisions.lock) too, like --lint-all
    squawk = ["ban-char-field"]         # squawk rules to report as well (default: none)
    severity = { vague-message = "error", missing-lock-timeout = "off" }

    [[tool.alembic-preflight.lint.allow]]  # a suppression, with its reason
    rule = "drop-column"
    revision = "3f1c2a"
    object = "customers.legacy_name"    # optional: only this object
    reason = "replaced by full_name; no code reads it since release 41"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.errors import ConfigError, shown
from checks.lint.rules import RULES, unknown_codes

SEVERITIES = ("error", "warning", "info", "off")
SQUAWK_PREFIX = "squawk:"


@dataclass(frozen=True)
class Allow:
    rule: str
    revision: str | None
    object: str | None
    reason: str
    source: str  # where the suppression was written, for the report

    def covers(self, code: str, revision: str, obj: str | None) -> bool:
        return (self.rule == code
                and (self.revision is None or revision.startswith(self.revision))
                and (self.object is None or self.object == obj))


@dataclass
class LintSettings:
    strict: bool = False
    all: bool = False
    squawk: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    allow: list[Allow] = field(default_factory=list)


def is_known(code: str) -> bool:
    return code in RULES or code.startswith(SQUAWK_PREFIX)


def parse_lint_settings(data: dict, source: str) -> LintSettings:
    where = f"{source}: lint"
    known = ("strict", "all", "squawk", "severity", "allow")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(map(shown, unknown))}; "
                          f"valid: {', '.join(known)}")
    settings = LintSettings()
    for flag in ("strict", "all"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise ConfigError(f"{where}.{flag} must be true or false")
            setattr(settings, flag, data[flag])
    if "squawk" in data:
        squawk = data["squawk"]
        if not (isinstance(squawk, list) and all(isinstance(r, str) for r in squawk)):
            raise ConfigError(f'{where}.squawk must be a list of squawk rule names, e.g. ["ban-char-field"]')
        settings.squawk = list(squawk)
    severity = data.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError(f'{where}.severity must be a table, e.g. {{ vague-message = "error" }}')
    bad_codes = [c for c in unknown_codes(severity) if not c.startswith(SQUAWK_PREFIX)]
    if bad_codes:
        raise ConfigError(f"{where}.severity: unknown rule code(s) {', '.join(map(shown, bad_codes))}; "
                          f"valid codes: {', '.join(RULES)}")
    for code, level in severity.items():
        if level not in SEVERITIES:
            raise ConfigError(f"{where}.severity.{shown(code)} = {level!r}; "
                              f"use one of {', '.join(SEVERITIES)}")
    settings.severity = dict(severity)
    allow = data.get("allow", [])
    if not (isinstance(allow, list) and all(isinstance(a, dict) for a in allow)):
        raise ConfigError(f"{where}.allow must be a list of tables ([[...lint.allow]] entries)")
    for number, entry in enumerate(allow, 1):
        if not isinstance(entry.get("rule"), str):
            raise ConfigError(f'{where}.allow entry {number}: give the rule code, e.g. rule = "drop-column"')
        for key in ("revision", "object"):
            if not isinstance(entry.get(key, ""), str) or entry.get(key) == "":
                raise ConfigError(f"{where}.allow entry {number} ({shown(entry['rule'])}): {key} must be a "
                                  "non-empty string, or left out")
    bad_codes = sorted({a["rule"] for a in allow if not is_known(a["rule"])})
    if bad_codes:
        raise ConfigError(f"{where}.allow: unknown rule code(s) {', '.join(map(shown, bad_codes))}; "
                          f"valid codes: {', '.join(RULES)}")
    for number, entry in enumerate(allow, 1):
        extra = sorted(set(entry) - {"rule", "revision", "object", "reason"})
        if extra:
            raise ConfigError(f"{where}.allow entry {number}: unknown key(s) {', '.join(map(shown, extra))}; "
                              "valid: rule, revision, object, reason")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where}.allow entry {number} ({shown(entry['rule'])}): "
                              'give a reason = "..." saying why the risk is accepted')
        settings.allow.append(Allow(entry["rule"], entry.get("revision"), entry.get("object"),
                                    reason.strip(), source))
    return settings
