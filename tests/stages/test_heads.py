"""heads: a history that forks must be merged before it ships, unless its heads are kept
apart by design (each on a labelled branch of its own)."""

from __future__ import annotations

from projects import (
    CREATE_ITEMS,
    DROP_ITEMS,
    Rev,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)

ITEMS_AB = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False), sa.Column("a", sa.Integer),
                 sa.Column("b", sa.Integer))
"""


def branch(revision: str, column: str) -> Rev:
    return Rev(revision, "0001", f'op.add_column("items", sa.Column("{column}", sa.Integer))',
               f'op.drop_column("items", "{column}")')


def test_two_heads_are_named_with_the_merge_command(verify, tmp_path):
    revisions = [items_revision(), branch("0002", "a"), branch("0003", "b")]
    project = build_project(tmp_path / "project", revisions, models=ITEMS_AB)
    result = verify(project, "--stage", "files", "--stage", "heads")

    assert result.code == 1, result.stdout + result.stderr
    assert result.stage("files")["status"] == "pass"
    [finding] = result.findings("heads")
    assert finding["code"] == "multiple-heads"
    assert set(finding["object"].split()) == {"0002", "0003"}
    assert "0002_revision.py" in finding["message"] and "0003_revision.py" in finding["message"]
    [command] = [line for line in result.stdout.splitlines() if "alembic merge" in line]
    merged = command.split("alembic merge -m 'merge heads' ")[1].split(";")[0].split()
    assert sorted(merged) == ["0002", "0003"], f"the printed command merges both heads: {command}"


def expand_contract(root, settings: str | None = None, contract_labels=("contract",), base_labels=None):
    """Two branches off 0001 that stay apart, upgraded with `upgrade heads`: each labelled on
    its first revision (Alembic gives the label to what follows it: 0004 is expand's head)."""
    revisions = [Rev("0001", None, CREATE_ITEMS, DROP_ITEMS, labels=base_labels),
                 Rev("0002", "0001", 'op.add_column("items", sa.Column("a", sa.Integer))',
                     'op.drop_column("items", "a")', labels=("expand",)),
                 Rev("0003", "0001", 'op.add_column("items", sa.Column("b", sa.Integer))',
                     'op.drop_column("items", "b")', labels=contract_labels),
                 Rev("0004", "0002", 'op.create_index("ix_items_a", "items", ["a"])',
                     'op.drop_index("ix_items_a", table_name="items")')]
    return build_project(root, revisions, models=ITEMS_AB + 'sa.Index("ix_items_a", items.c.a)\n',
                         settings=settings)


def test_heads_each_with_a_label_of_its_own_are_recognised_and_every_stage_walks_both(verify, tmp_path):
    result = verify(expand_contract(tmp_path / "project"))

    assert_clean(result)
    assert result.findings("heads") == []
    line = result.stage("heads")["summary"]
    assert line.startswith("2 heads by design") and line in result.stdout
    assert "expand@head = 0004 (0004_revision.py)" in line
    assert "contract@head = 0003 (0003_revision.py)" in line
    assert "(recognised: each head has a branch label of its own)" in line
    assert "alembic merge" not in result.stdout


def test_declared_heads_pass_and_say_where_they_were_declared(verify, tmp_path):
    project = expand_contract(tmp_path / "project", settings='heads = ["expand@head", "contract@head"]\n')
    result = verify(project, "--stage", "heads")

    assert result.code == 0, result.stdout + result.stderr
    assert "(declared: heads in " in result.stage("heads")["summary"]


def test_a_declared_head_that_names_no_label_lists_the_real_ones(verify, tmp_path):
    project = expand_contract(tmp_path / "project", settings='heads = ["expnd@head", "contract@head"]\n')
    assert_usage_error(verify(project, "--stage", "heads"), "heads: expnd@head names no branch label",
                       "its branch labels are: contract, expand")


def test_a_head_without_a_label_of_its_own_is_still_told_to_merge(verify, tmp_path):
    # 0001's label reaches both heads; only expand has one of its own.
    project = expand_contract(tmp_path / "project", contract_labels=None, base_labels=("core",))
    result = verify(project, "--stage", "heads")

    assert result.code == 1, result.stdout + result.stderr
    [finding] = result.findings("heads")
    assert finding["code"] == "multiple-heads" and set(finding["object"].split()) == {"0004", "0003"}
    assert "alembic merge -m 'merge heads'" in finding["hint"]
