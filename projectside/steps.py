"""The one-revision steps a run of env.py hands Alembic.

Alembic's own step, when it books a downgrade, asks whether the revision below is
already an ancestor of itself (the case of a merge whose parents depend on each other):
it walks every ancestor of the revision below to find out, at each downgrade, so a
staircase over n revisions walks the history n times (0.8 s of a 500-revision round
trip). With one revision below and no other head that question has one answer, which
the step gives at once; everything else is Alembic's.

A step can also be unbooked: where the caller rolled its transaction back to before the
step ran (version rows included), Alembic's own set of heads is put back as the step
found it, so that the steps after it book themselves from the rows the database holds.
"""

from __future__ import annotations

from pathlib import Path

from alembic.runtime.migration import RevisionStep


class Step(RevisionStep):
    _booked: tuple[set[str], frozenset[str]] | None = None  # Alembic's heads, and as they were

    def __init__(self, revision_map, revision, is_upgrade: bool) -> None:
        if is_upgrade or hasattr(revision.module, "downgrade"):
            super().__init__(revision_map, revision, is_upgrade)
            return
        # Alembic reads the function as it books the steps, so a revision without downgrade()
        # would fail them all before any ran. It fails its own step instead, as a downgrade
        # that raises NotImplementedError does: the steps above it run, and it is one-way.
        super().__init__(revision_map, revision, True)
        self.is_upgrade = False
        self.migration_fn = _no_downgrade(revision)

    def should_delete_branch(self, heads: set[str]) -> bool:
        # The first question Alembic's bookkeeping asks a step, with its own set of heads.
        self._booked = (heads, frozenset(heads))
        return super().should_delete_branch(heads)

    def unbook(self) -> None:
        """Put Alembic's heads back as they were before this step booked itself."""
        if self._booked is None:
            raise RuntimeError(f"{self.revision.revision} was never booked by Alembic: nothing to take back")
        heads, before = self._booked
        heads.clear()
        heads.update(before)

    def _unmerge_to_revisions(self, heads: set[str]) -> tuple[str, ...]:
        below = self.to_revisions
        if len(below) == 1 and set(heads) <= {self.revision.revision}:
            # Alembic drops from `below` its members' own ancestors: one revision is never its own.
            return below
        return super()._unmerge_to_revisions(heads)


def _no_downgrade(revision):
    def downgrade(**_kw) -> None:
        raise NotImplementedError(f"{Path(revision.path).name} defines no downgrade() function")
    return downgrade
