"""What a stage reports when it cannot judge: the fresh build it depends on did not get to
head, or the project writes no downgrades."""

from __future__ import annotations

from checks.project.policies import Policy
from checks.result import Finding, Severity
from checks.run import Build


class StageSkipped(Exception):
    """Raised by a stage that cannot judge anything; carries the reason as a finding."""

    def __init__(self, finding: Finding, build_failed: bool = False) -> None:
        super().__init__(finding.message)
        self.finding = finding
        self.build_failed = build_failed  # the fresh stage holds the real finding


def skipped_for_build(build: Build) -> list[Finding]:
    err = build.error
    raise StageSkipped(Finding(
        Severity.INFO, "skipped",
        f"the migrations do not apply to an empty database (upgrade of {err.revision} "
        "failed); see the fresh stage", revision=err.revision), build_failed=True)


def skipped_without_downgrades(policy: Policy) -> list[Finding]:
    """The project rolls forward only: there is nothing to downgrade."""
    change = ("remove that setting once the revisions write downgrade()" if policy.declared else
              "set downgrades = false in the suite's settings to say so, or true to require them")
    raise StageSkipped(Finding(
        Severity.INFO, "skipped", f"the project writes no downgrades ({policy.how}): nothing to "
                                  f"round-trip; {change}"))

