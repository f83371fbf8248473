"""Rules of squawk (https://squawkhq.com), run on each revision's offline SQL.

Our own rules cover the locking hazards with Alembic's context (tables created in the same
revision, autocommit blocks, suppressions); squawk has many more. The project picks the
squawk rules it wants with `lint.squawk = [...]`; they are reported as `squawk:RULE`.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from checks.errors import ConfigError
from checks.lint.rules import Hit


def squawk_hits(revision: str, sql: str, rules: list[str]) -> list[Hit]:
    if not rules or not sql.strip():
        return []
    binary = shutil.which("squawk")
    if binary is None:
        raise ConfigError("lint.squawk lists squawk rules but the squawk binary is not on PATH; "
                          "pip install squawk-cli (the suite's `lint` extra), or remove lint.squawk")
    proc = subprocess.run([binary, "--reporter", "json", "--stdin-filepath", f"{revision}.sql"],
                          input=sql, capture_output=True, text=True, timeout=60)
    try:
        violations = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise ConfigError(f"squawk failed on revision {revision} (exit {proc.returncode}): "
                          f"{(proc.stderr or proc.stdout).strip()[-300:]}") from None
    lines = sql.splitlines()
    hits = []
    for violation in violations:
        rule = violation.get("rule_name")
        if rule not in rules and "all" not in rules:
            continue
        line = violation.get("line", 0)
        statement = lines[line].strip() if 0 <= line < len(lines) else None
        detail = violation.get("message", "")
        if violation.get("help"):
            detail += f" ({violation['help']})"
        offset = sum(len(text) + 1 for text in lines[:line])
        hits.append(Hit(f"squawk:{rule}", revision, statement, detail, offset=offset))
    return hits
