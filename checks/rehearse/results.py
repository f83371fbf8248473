"""What the rehearse stage timed, as data: the JSON report holds it under the stage's
`rehearsal` (docs/ci.md lists the fields) and the HTML report shows it beside each revision.
The findings say the same in words; this is for the tools and pages that read numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from checks.errors import MigrationError
from checks.rehearse.findings import Timed
from checks.rehearse.scale import SMALLER, Sizes


@dataclass
class Results:
    max_lock_ms: float
    volumes: str  # where the declared volumes came from
    revisions: dict[str, dict] = field(default_factory=dict)  # by revision, in the order rehearsed
    sizes: Sizes | None = None  # how the volumes were scaled down (None: nothing was timed)
    not_rehearsed: list[str] = field(default_factory=list)  # left out when the time budget ran out

    def _revision(self, revision: str) -> dict:
        return self.revisions.setdefault(revision, {"revision": revision, "tables": [], "unfilled": [],
                                                    "failed": None})

    def timed(self, found: Timed) -> None:
        self._revision(found.revision)["tables"].append(found.to_json(self.max_lock_ms))

    def unfilled(self, revision: str, tables: list[str]) -> None:
        self._revision(revision)["unfilled"] = list(tables)

    def failed(self, revision: str, error: MigrationError) -> None:
        self._revision(revision)["failed"] = str(error.db_error or error)

    def to_json(self) -> dict:
        scale = None
        if self.sizes is not None:
            scale = {"described": f"{self.sizes.describe()}, and 1/{SMALLER} of that",
                     "factor": self.sizes.factor, "limited_by": self.sizes.limited_by}
        return {"max_lock_ms": self.max_lock_ms, "volumes": self.volumes, "scale": scale,
                "revisions": list(self.revisions.values()), "not_rehearsed": self.not_rehearsed}
