"""The rules every task that can lose data obeys before it touches anything.

A wrong URL pasted at 2 a.m. is the usual way a production database gets dropped:
so a database that does not look local is refused unless --force, a question is asked
on a terminal, and where nobody can answer (CI, a pipe) nothing happens without --yes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from checks.errors import ConfigError
from checks.recovery.target import Target
from harness.sessions import Session, settled


@dataclass
class Consent:
    """What the user allowed on the command line; `ask` reads an answer (input() by default)."""

    yes: bool = False
    force: bool = False
    ask: object = None

    def answer(self, question: str) -> str:
        return (self.ask or input)(question)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def refuse_remote(target: Target, consent: Consent, task: str) -> None:
    """Refuse a database that does not look like the developer's own, naming what was seen."""
    reasons = target.not_local_because()
    if reasons and not consent.force:
        raise ConfigError(f"{task}: refusing {target.describe()}, which does not look like a local "
                          f"database ({'; '.join(reasons)}); if you really mean it, re-run with --force")


def require_consent_possible(consent: Consent, task: str, what: str, stdin=None) -> None:
    """Refuse now, before any backup or change, if no one will be able to answer `confirm`."""
    if consent.yes:
        return
    if in_ci():
        raise ConfigError(f"{task}: refusing to {what} in CI (CI={os.environ.get('CI')}) without "
                          "--yes; add --yes to the command if this job really should")
    stdin = stdin or sys.stdin
    if consent.ask is None and not (stdin and stdin.isatty()):
        raise ConfigError(f"{task}: no terminal to confirm on, so nothing was done; re-run with "
                          f"--yes to {what}")


def confirm(consent: Consent, task: str, what: str, stdin=None) -> None:
    """Ask `what` on a terminal; --yes skips it; refuse where nobody can answer."""
    if consent.yes:
        return
    require_consent_possible(consent, task, what, stdin)
    reply = consent.answer(f"{task}: {what}? [y/N] ").strip().lower()
    if reply not in ("y", "yes"):
        raise ConfigError(f"{task}: not confirmed, nothing was done")


def other_sessions(target: Target) -> list[Session]:
    """Everyone else connected to the target, once sessions that were closing have gone.

    Autovacuum is nobody: PostgreSQL stops it before a drop, and no ordinary role may.
    """
    with target.maintenance() as conn:
        return settled(conn, target.name)


def clear_sessions(target: Target, consent: Consent, task: str, out=None) -> bool:
    """Say who else is connected and ask before they are cut off; True if there were any.

    DROP DATABASE waits for nobody: whoever is connected loses their work mid-query, so
    they are named first, and disconnected only once the user has agreed.
    """
    out = out or sys.stdout
    sessions = other_sessions(target)
    if not sessions:
        return False
    out.write(f"{task}: {len(sessions)} other session(s) are connected to {target.name}:\n")
    for s in sessions:
        out.write(f"    pid {s.pid}  user {s.user}  application {s.application or '-'}  from {s.client}  "
                  f"{s.state or ''}\n")
    confirm(consent, task, f"disconnect these {len(sessions)} session(s) from {target.name}")
    return True
