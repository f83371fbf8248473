"""Which revision made a drifted object what it is: the one to read, and to follow with a fix.

The build records the schema before and after each revision it walks. From head down, the
first revision whose own change touched the object (or, for a property of an object that
exists, the table holding it) is the one that left it as the migrations have it. Without
those records (a run without the round trip) the finding stays at head and says so.
"""

from __future__ import annotations

from checks.result import Finding
from checks.schema import diff_snapshots

AT_HEAD = (" (at head: this run recorded no schema per revision; run the roundtrip stage too to name "
           "the revision that made it so)")


class Blame:
    def __init__(self, build) -> None:
        self.build = build
        self.recorded = [rev for rev in reversed(build.walked)
                         if rev.revision in build.before and rev.revision in build.after]
        self._touched: dict[str, set[str]] = {}

    def assign(self, findings: list[Finding]) -> None:
        """Name each drift finding's revision; those no revision touched stay at head."""
        for finding in findings:
            if finding.object is None or not finding.code.startswith("drift-"):
                continue
            if not self.recorded:
                if not _only_in_models(finding.message):  # no revision made it: none to name
                    finding.message += AT_HEAD
                continue
            revision = self._made(finding)
            if revision is not None:
                finding.revision = revision

    def _made(self, finding: Finding) -> str | None:
        keys = [_name(finding.object)]
        if not _only_in_models(finding.message):
            keys.append(_table_of(keys[0]))  # created with its table
        for revision in self.recorded:
            if self._touched_by(revision.revision) & set(keys):
                return revision.revision
        return None

    def _touched_by(self, revision: str) -> set[str]:
        if revision not in self._touched:
            diffs = diff_snapshots(self.build.before[revision], self.build.after[revision])
            self._touched[revision] = {_name(diff.object) for diff in diffs}
        return self._touched[revision]


def _name(obj: str) -> str:
    """Both comparisons' names for one object: "items" for "table items"."""
    return obj.removeprefix("table ")


def _table_of(name: str) -> str:
    return name.split(" ")[-1].rsplit(".", 1)[0]


def _only_in_models(message: str) -> bool:
    """Whether the object is missing after the migrations: no revision made it."""
    return any(words in message for words in (
        "missing in migrations", "but no migration", "is in the models but not in the migrated schema"))
