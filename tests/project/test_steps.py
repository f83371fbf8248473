"""The suite's downgrade step books exactly what Alembic's own would, without walking
the history for a revision with one parent."""

from __future__ import annotations

import itertools

from alembic.config import Config
from alembic.runtime.migration import RevisionStep
from alembic.script import ScriptDirectory
from projects import Rev, build_project

from projectside.steps import Step


def _script(tmp_path) -> ScriptDirectory:
    # A merge, a merge whose parents depend on each other, and a dependency across branches.
    revisions = [Rev("0001", None), Rev("0002", "0001"), Rev("0003", "0001"), Rev("0004", ("0002", "0003")),
                 Rev("0005", "0004"), Rev("0006", ("0005", "0004")), Rev("0007", "0001"),
                 Rev("0008", "0006")]
    root = build_project(tmp_path / "project", revisions)
    dependent = root / "migrations" / "versions" / "0007_revision.py"
    dependent.write_text(dependent.read_text().replace("depends_on = None", "depends_on = '0003'"))
    return ScriptDirectory.from_config(Config(str(root / "alembic.ini")))


def test_every_downgrade_books_what_alembic_books(tmp_path):
    script = _script(tmp_path)
    ids = [rev.revision for rev in script.walk_revisions()]
    compared = 0
    for revision in script.walk_revisions():
        for size in (0, 1, 2):
            for others in itertools.combinations([i for i in ids if i != revision.revision], size):
                heads = {revision.revision, *others}
                ours = Step(script.revision_map, revision, False)
                theirs = RevisionStep(script.revision_map, revision, False)
                booked = ours._unmerge_to_revisions(heads), theirs._unmerge_to_revisions(heads)
                assert sorted(booked[0]) == sorted(booked[1])
                assert ours.should_delete_branch(heads) == theirs.should_delete_branch(heads)
                compared += 1
    assert compared > 100


def test_one_parent_and_no_other_head_walks_nothing(tmp_path):
    script = _script(tmp_path)
    revision = script.get_revision("0005")
    walked = []
    original = script.revision_map._get_ancestor_nodes
    script.revision_map._get_ancestor_nodes = lambda *a, **k: walked.append(a) or original(*a, **k)
    assert Step(script.revision_map, revision, False)._unmerge_to_revisions({"0005"}) == ("0004",)
    assert walked == []  # Alembic 1.20's own step walks the ancestors of 0004 for the same answer

