"""squash: the squashed base builds exactly the schema the old history built (verify --squash-check REF)."""

from __future__ import annotations

from checks.errors import ConfigError
from checks.result import Finding
from checks.run import Run


def check(run: Run) -> list[Finding]:
    """A squash that changed the schema (a server default, an index's name, an enum's order)
    goes unnoticed until a new database differs from the old ones; databases stamped at an
    old revision no longer know where they are unless each gets its way onto the base."""
    if run.squash_check is None:
        raise ConfigError("the squash stage compares the history with the one before the squash: "
                          "add --squash-check REF (the commit before it, e.g. HEAD~1)")
    from checks.squash.prove import prove

    return prove(run, run.squash_check)
