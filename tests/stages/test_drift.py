"""drift: models and migrations must describe the same schema.

Autogenerate catches a missing column; the catalog comparison catches what autogenerate
does not look at. Each fixture has exactly one difference, and the test checks which of
the two comparisons names it.
"""

from __future__ import annotations

import pytest
from projects import Rev, assert_clean, build_project

MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
status = sa.Enum("open", "closed", name="status")
parents = sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True))
items = sa.Table(
    "items", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("qty", sa.Integer, nullable=False, server_default={qty_default}),
    sa.Column("state", status, nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("parents.id", ondelete={ondelete})),
    sa.CheckConstraint({check}, name="ck_items_qty"),
)
{extra}
"""

UPGRADE = """\
op.create_table("parents", sa.Column("id", sa.Integer, primary_key=True))
op.create_table(
    "items",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("qty", sa.Integer, nullable=False, server_default="1"),
    sa.Column("state", sa.Enum("open", "closed", name="status"), nullable=False),
    sa.Column("parent_id", sa.Integer, sa.ForeignKey("parents.id", ondelete="CASCADE")),
    sa.CheckConstraint("qty > 0", name="ck_items_qty"),
)
"""
DOWNGRADE = """\
op.drop_table("items")
op.drop_table("parents")
op.execute("DROP TYPE status")
"""

AGREEING = {"qty_default": '"1"', "ondelete": '"CASCADE"', "check": '"qty > 0"', "extra": ""}


def project(root, **model_changes):
    models = MODELS.format(**{**AGREEING, **model_changes})
    return build_project(root, [Rev("0001", None, UPGRADE, DOWNGRADE)], models=models)


def test_agreeing_models_and_migrations_pass_every_stage(verify, tmp_path):
    assert_clean(verify(project(tmp_path / "project")))


def test_model_column_without_migration_is_found_by_autogenerate(verify, tmp_path):
    extra = 'sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True))\n' \
            'items.append_column(sa.Column("label", sa.Text))'
    result = verify(project(tmp_path / "project", extra=extra), "--stage", "drift")

    assert result.code == 1
    objects = {f["object"]: f for f in result.findings("drift", "drift-autogenerate")}
    assert set(objects) == {"items.label", "notes"}, result.findings("drift")
    assert objects["items.label"]["revision"] == "0001"
    assert "no migration adds it" in objects["items.label"]["message"]
    assert not result.findings("drift", "drift-catalog"), "autogenerate said it already"


def test_a_table_whose_model_env_py_never_imports_points_at_metadata_modules(verify, tmp_path):
    # quetz's shape: env.py imports one models module; the jobs' tables live in another,
    # which its own make-migrations command imports. Named in metadata_modules, they count.
    jobs = 'from app.models import metadata\nimport sqlalchemy as sa\n\n' \
           'jobs = sa.Table("jobs", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
    upgrade = UPGRADE + 'op.create_table("jobs", sa.Column("id", sa.Integer, primary_key=True))\n'
    downgrade = 'op.drop_table("jobs")\n' + DOWNGRADE
    models = MODELS.format(**AGREEING)
    root = build_project(tmp_path / "project", [Rev("0001", None, upgrade, downgrade)], models=models,
                         files={"app/jobs.py": jobs})
    result = verify(root, "--stage", "drift")
    [finding] = result.findings("drift", "drift-autogenerate")
    assert finding["object"] == "jobs" and "in no model" in finding["message"]
    assert "metadata_modules" in finding["message"]

    (root / "pyproject.toml").write_text('[tool.alembic-preflight]\nmetadata_modules = ["app.jobs"]\n')
    assert verify(root, "--stage", "drift").code == 0


def test_autogenerate_findings_come_in_the_same_order_whatever_the_hash_seed(verify, tmp_path):
    # Alembic walks tables and columns as sets; the order of its differences follows the seed.
    tables = [f'sa.Table("t{n}", metadata, sa.Column("id", sa.Integer, primary_key=True))' for n in range(6)]
    columns = [f'items.append_column(sa.Column("c{n}", sa.Text))' for n in range(6)]
    extra = "\n".join(tables + columns)
    root = project(tmp_path / "project", extra=extra)
    orders = [[f["object"] for f in verify(root, "--stage", "drift", env={"PYTHONHASHSEED": seed})
               .findings("drift", "drift-autogenerate")] for seed in ("1", "2", "3")]
    assert len(orders[0]) == 12, orders[0]
    assert orders[0] == orders[1] == orders[2]
    assert orders[0] == sorted(orders[0], key=lambda obj: (obj.split(".")[0], obj))


def test_a_constraint_autogenerate_names_is_reported_once_named_or_not(verify, tmp_path):
    # Unnamed in the models, PostgreSQL names them (items_code_key, owners_item_id_fkey) where
    # autogenerate names them by their columns: one finding each, autogenerate's.
    extra = ('owners = sa.Table("owners", metadata, sa.Column("id", sa.Integer, primary_key=True),\n'
             '                  sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id")),\n'
             '                  sa.Column("code", sa.Text, unique=True), sa.Column("tag", sa.Text),\n'
             '                  sa.UniqueConstraint("tag", name="uq_owners_tag"))')
    owners = ('op.create_table("owners", sa.Column("id", sa.Integer, primary_key=True), '
              'sa.Column("item_id", sa.Integer), sa.Column("code", sa.Text), sa.Column("tag", sa.Text))')
    models = MODELS.format(**{**AGREEING, "extra": extra})
    root = build_project(tmp_path / "project", [Rev("0001", None, UPGRADE, DOWNGRADE),
                                                Rev("0002", "0001", owners, 'op.drop_table("owners")')],
                         models=models)

    result = verify(root, "--stage", "drift")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("drift")
    assert sorted(f["object"] for f in found) == [
        "constraint owners.code", "constraint owners.uq_owners_tag", "foreign key owners.item_id"], found
    assert {f["code"] for f in found} == {"drift-autogenerate"}
    assert {f["revision"] for f in found} == {"0002"}


CATALOG_ONLY = {
    "server default": ({"qty_default": '"5"'}, "items.qty", "default"),
    "check constraint": ({"check": '"qty >= 0"'}, "ck_items_qty", "qty >= 0"),
    "enum label": ({"extra": 'status.enums.append("archived")'}, "status", "archived"),
    "sequence": ({"extra": 'sa.Sequence("ticket_numbers", metadata=metadata)'}, "ticket_numbers", "exists"),
}


@pytest.mark.parametrize("what", CATALOG_ONLY)
def test_difference_autogenerate_misses_is_found_by_the_catalog(verify, tmp_path, what):
    changes, obj, detail = CATALOG_ONLY[what]
    result = verify(project(tmp_path / "project", **changes), "--stage", "drift")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("drift")
    assert len(found) == 1, found
    assert found[0]["code"] == "drift-catalog", found
    assert obj in found[0]["object"] and detail in found[0]["message"], found
    assert "in models" in found[0]["message"] and "in migrations" in found[0]["message"]


def test_changed_foreign_key_action_is_reported_with_both_actions(verify, tmp_path):
    # Autogenerate sees this one as a foreign key removed and another added; the messages
    # must say what differs, or the reader cannot tell the two apart.
    result = verify(project(tmp_path / "project", ondelete='"SET NULL"'), "--stage", "drift")

    assert result.code == 1
    messages = [f["message"] for f in result.findings("drift")]
    assert len(messages) == 2, messages
    assert any("ON DELETE SET NULL is in the models" in m for m in messages), messages
    assert any("ON DELETE CASCADE is in the migrated schema" in m for m in messages), messages
    assert all(f["object"].startswith("foreign key items.") for f in result.findings("drift"))


CATALOG_FIXES = {
    "server default": ({"qty_default": '"5"'}, "items.qty",
                       ['op.alter_column("items", "qty", server_default=sa.text(\'5\'))',
                        "compare_server_default"]),
    "check constraint": ({"check": '"qty >= 0"'}, "check constraint items.ck_items_qty",
                         ['op.drop_constraint("ck_items_qty", "items", type_="check")',
                          'op.create_check_constraint("ck_items_qty", "items", "(qty >= 0)")']),
    "enum label": ({"extra": 'status.enums.append("archived")'}, "enum status",
                   ["op.execute(\"ALTER TYPE status ADD VALUE 'archived'\")"]),
    "sequence": ({"extra": 'sa.Sequence("ticket_numbers", metadata=metadata)'}, "sequence ticket_numbers",
                 ['op.execute(sa.schema.CreateSequence(sa.Sequence("ticket_numbers")))']),
}


@pytest.mark.parametrize("what", CATALOG_FIXES)
def test_a_difference_autogenerate_cannot_see_gets_the_code_to_write_not_autogenerate(verify, tmp_path, what):
    # `alembic revision --autogenerate` would write nothing for it: the hint says what to write.
    changes, obj, code = CATALOG_FIXES[what]
    result = verify(project(tmp_path / "project", **changes), "--stage", "drift")

    [finding] = result.findings("drift", "drift-catalog")
    assert (finding["object"], finding["revision"]) == (obj, "0001"), finding
    assert "--autogenerate -m" not in finding["hint"] and "alembic revision -m" in finding["hint"], finding
    for fragment in code:
        assert fragment in finding["hint"], finding["hint"]


def test_a_difference_names_the_revision_that_made_the_object_what_it_is(verify, tmp_path):
    # 0002 set the default and the type drift sees; 0003, the head, touched neither.
    revisions = [
        Rev("0001", None, UPGRADE, DOWNGRADE),
        Rev("0002", "0001", 'op.alter_column("items", "qty", server_default="2")\n'
                            'op.add_column("items", sa.Column("label", sa.Text))',
            'op.drop_column("items", "label")\nop.alter_column("items", "qty", server_default="1")',
            file="0002_label.py"),
        Rev("0003", "0002", 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))',
            'op.drop_table("notes")'),
    ]
    extra = ('sa.Table("notes", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
             'items.append_column(sa.Column("label", sa.Integer))\n'
             'items.append_column(sa.Column("unmigrated", sa.Text))')
    models = MODELS.format(**{**AGREEING, "qty_default": '"5"', "extra": extra})
    root = build_project(tmp_path / "project", revisions, models=models)

    found = {f["object"]: f for f in verify(root).findings("drift")}
    assert set(found) == {"items.qty", "items.label", "items.unmigrated"}, found
    assert "at head" not in found.pop("items.unmigrated")["message"]  # no revision made it
    for finding in found.values():
        assert finding["revision"] == "0002" and finding["file"].endswith("0002_label.py"), finding
        assert "at head" not in finding["message"], finding

    # Without the round trip no schema is recorded per revision: the head, said so.
    alone = {f["object"]: f for f in verify(root, "--stage", "drift").findings("drift")}
    # A column only the models have was made by no revision: there is none to name, so no note.
    assert "at head" not in alone.pop("items.unmigrated")["message"]
    assert {obj: f["revision"] for obj, f in alone.items()} == {"items.qty": "0003", "items.label": "0003"}
    assert all("at head" in f["message"] for f in alone.values()), alone
