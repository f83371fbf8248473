"""merge-order: the branches a merge joins must build the same schema in any order, as a
database that had one branch before the other arrived gets them."""

from __future__ import annotations

from projects import ITEMS_MODELS, Rev, assert_clean, build_project, items_revision

STAGE = ("--stage", "merge-order")


def column(revision: str, name: str, sql_type: str = "sa.Integer", parent: str = "0001") -> Rev:
    return Rev(revision, parent, f'op.add_column("items", sa.Column("{name}", {sql_type}))',
               f'op.drop_column("items", "{name}")')


def merge(revision: str, *heads: str) -> Rev:
    return Rev(revision, tuple(heads), file=f"{revision}_merge.py")


def columns_models(*names: str) -> str:
    return ITEMS_MODELS + "".join(f'items.append_column(sa.Column("{name}", sa.Integer))\n' for name in names)


def test_two_branches_adding_a_column_with_two_types_fail_naming_both_and_the_column(verify, tmp_path):
    # ADD COLUMN IF NOT EXISTS: the later branch keeps the earlier one's column, whichever it was.
    add = 'op.execute("ALTER TABLE items ADD COLUMN IF NOT EXISTS score {}")'
    revisions = [items_revision(), Rev("0002", "0001", add.format("integer")),
                 Rev("0003", "0001", add.format("text")), merge("0004", "0002", "0003")]
    result = verify(build_project(tmp_path / "project", revisions), "--stage", "fresh", *STAGE)

    assert result.code == 1, result.stdout + result.stderr
    assert result.stage("fresh")["status"] in ("pass", "warn")  # warn: the ALTERs' measured locks
    [finding] = result.findings("merge-order")
    assert finding["code"] == "merge-order-differs"
    assert finding["object"] == "items.score"
    assert finding["revision"] == "0004" and finding["file"].endswith("0004_merge.py")
    message = finding["message"]
    assert "0002 (0002_revision.py)" in message and "0003 (0003_revision.py)" in message
    assert ("items.score: type text in a fresh database (0003's branch first), integer in one that got "
            "0002's branch first") in message
    assert "depends_on" in finding["hint"]


def test_a_branch_altering_what_the_other_creates_fails_in_the_other_order_naming_both(verify, tmp_path):
    # Alembic applies 0003 first (the order it gives siblings is fixed, not alphabetical).
    create = 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))'
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.add_column("notes", sa.Column("body", sa.Text))',
                     'op.drop_column("notes", "body")'),
                 Rev("0003", "0001", create, 'op.drop_table("notes")'),
                 merge("0004", "0002", "0003")]
    result = verify(build_project(tmp_path / "project", revisions), "--stage", "fresh", *STAGE)

    assert result.code == 1, result.stdout + result.stderr
    assert result.stage("fresh")["status"] == "pass", "the order Alembic picks works"
    [finding] = result.findings("merge-order")
    assert finding["code"] == "merge-order-fails"
    assert finding["revision"] == "0002" and finding["object"] == "0003"
    assert finding["file"].endswith("0002_revision.py")
    assert "0002's branch first" in finding["message"]
    assert "runs before 0003 (0003_revision.py)" in finding["message"]
    assert 'relation "notes" does not exist' in finding["message"]
    assert "0004 (0004_merge.py)" in finding["message"]


def test_a_clean_merge_of_independent_branches_passes_every_stage(verify, tmp_path):
    revisions = [items_revision(), column("0002", "a"), column("0003", "b"), merge("0004", "0002", "0003")]
    result = verify(build_project(tmp_path / "project", revisions, models=columns_models("a", "b")))

    assert_clean(result)
    stage = result.stage("merge-order")
    assert stage["status"] == "pass" and stage["findings"] == []
    assert stage["summary"] == ("1 merge revision(s); their branches applied in 1 other order(s) "
                                "besides the build's")
    names = [s["name"] for s in result.report["stages"]]
    assert names.index("fresh") < names.index("merge-order") < names.index("drift")


def test_a_history_without_merges_has_nothing_to_check(verify, tmp_path):
    result = verify(build_project(tmp_path / "project", [items_revision(), column("0002", "a")],
                                  models=columns_models("a")), *STAGE)

    assert result.code == 0, result.stdout + result.stderr
    stage = result.stage("merge-order")
    assert stage["status"] == "pass" and stage["findings"] == []
    assert stage["summary"] == "the history has no merge revision: nothing to check"
    assert "nothing to check" in result.stdout


def test_a_merge_of_four_branches_tries_eight_orders_and_names_the_others(verify, tmp_path):
    branches = [column(f"000{n}", f"c{n}") for n in range(2, 6)]
    revisions = [items_revision(), *branches, merge("0006", *(b.id for b in branches))]
    result = verify(build_project(tmp_path / "project", revisions), *STAGE)

    assert result.code == 0, result.stdout + result.stderr
    [note] = result.findings("merge-order")
    assert note["code"] == "merge-order-untried" and note["revision"] == "0006"
    # 24 orders of four branches: the build's own, 8 applied, 15 named.
    assert "8 other orders were applied, 15 were not" in note["message"]
    assert note["message"].count(" then ") == 8 * 3 and note["message"].endswith(", and 7 more")
    assert "applied in 8 other order(s)" in result.stage("merge-order")["summary"]


def test_a_long_branch_merged_with_a_short_one_is_applied_whole_before_the_other(verify, tmp_path):
    # 0004 stands on 0002 and 0003 of its own branch: applied first, the three go in their order.
    revisions = [items_revision(), column("0002", "a"), column("0003", "b", parent="0002"),
                 Rev("0004", "0003", 'op.create_index("ix_items_a", "items", ["a"])',
                     'op.drop_index("ix_items_a", table_name="items")'),
                 Rev("0005", "0001", 'op.execute("UPDATE items SET name = upper(name)")'),
                 merge("0006", "0004", "0005")]
    result = verify(build_project(tmp_path / "project", revisions), *STAGE)

    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("merge-order") == []

