"""Which revisions a pull request adds, on histories with branches and merges."""

from __future__ import annotations

import pytest
from projects import CREATE_ITEMS, DROP_ITEMS, ITEMS_MODELS, Rev, assert_clean, build_project

from checks.errors import ConfigError
from checks.project.project import Project
from checks.pullrequest.scope import select_new, since

MODELS = ITEMS_MODELS + 'items.append_column(sa.Column("a", sa.Integer))\n' \
                        'items.append_column(sa.Column("b", sa.Integer))\n'
# 0001 -> 0002 -> 0003 (merge) <- 0002b <- 0001
BRANCHY = [Rev("0001", None, CREATE_ITEMS, DROP_ITEMS),
           Rev("0002", "0001", 'op.add_column("items", sa.Column("a", sa.Integer))',
               'op.drop_column("items", "a")'),
           Rev("0002b", "0001", 'op.add_column("items", sa.Column("b", sa.Integer))',
               'op.drop_column("items", "b")'),
           Rev("0003", ("0002", "0002b"))]


def test_since_takes_the_side_branch_and_the_merge_as_new(tmp_path):
    project = Project(build_project(tmp_path / "p", BRANCHY, models=MODELS))

    scope = since(project, "0002")

    assert scope.base == {"0001", "0002"}
    assert scope.new == ["0002b", "0003"]
    assert [s.revision for s in select_new(project.upgrade_order(), scope)] == ["0002b", "0003"]
    assert [s.revision for s in select_new(project.upgrade_order(), None)] == [
        s.revision for s in project.upgrade_order()]


def test_since_the_head_leaves_nothing_new(tmp_path):
    project = Project(build_project(tmp_path / "p", BRANCHY, models=MODELS))

    assert since(project, "0003").new == []


def test_an_unknown_revision_is_a_config_error(tmp_path):
    project = Project(build_project(tmp_path / "p", BRANCHY, models=MODELS))

    with pytest.raises(ConfigError, match="--since 0bad"):
        since(project, "0bad")


def test_a_pull_request_walks_a_branch_and_its_merge_from_the_base(verify, tmp_path):
    project = build_project(tmp_path / "p", BRANCHY, models=MODELS)

    result = verify(project, "--quiet-progress", "--since", "0002")

    assert_clean(result)
    assert result.report["pull_request"]["new_revisions"] == ["0002b", "0003"]
