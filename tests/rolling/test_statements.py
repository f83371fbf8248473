"""What the project's side says a release's ORM sends per table (`projectside.rolling`)."""

from __future__ import annotations

import sqlalchemy as sa

from projectside.rolling import statements


def _models() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table("items", metadata,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.Text, nullable=False, unique=True),
             sa.Column("stock", sa.Integer, nullable=False, server_default="0"),
             sa.Column("parent_id", sa.Integer, sa.ForeignKey("items.id")),
             schema="shop")
    sa.Table("pairs", metadata,
             sa.Column("a", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("b", sa.Text, primary_key=True))
    sa.Table("log", metadata, sa.Column("line", sa.Text))  # no primary key: the ORM cannot map it
    return metadata


def test_the_insert_sends_what_the_orm_sets_and_leaves_the_rest_to_the_database():
    pairs, items = statements([_models()])

    assert (items["table"], pairs["table"]) == ("shop.items", "pairs")
    # The serial key and the column with a server default are the database's to fill; a
    # column without any default goes in (as NULL when unset), as the ORM sends it.
    assert {spec["key"] for spec in items["insert"]["params"].values()} == {"name", "parent_id"}
    assert "RETURNING shop.items.id" in items["insert"]["sql"]
    assert {spec["key"] for spec in pairs["insert"]["params"].values()} == {"a", "b"}
    assert "update" not in pairs  # nothing but the key to set


def test_select_update_and_delete_go_by_primary_key_and_name_every_column():
    pairs, items = statements([_models()])

    select = items["select"]["sql"]
    assert all(f"shop.items.{column}" in select for column in ("id", "name", "stock", "parent_id"))
    assert [spec["key"] for spec in items["select"]["params"].values() if spec["primary_key"]] == ["id"]
    assert {spec["key"] for spec in items["update"]["params"].values() if not spec["primary_key"]} == \
        {"name", "stock", "parent_id"}
    assert sorted(spec["key"] for spec in pairs["delete"]["params"].values()) == ["a", "b"]
    assert all(spec["primary_key"] for spec in pairs["delete"]["params"].values())


def test_columns_say_which_values_a_second_row_must_change():
    [_pairs, items] = statements([_models()])

    columns = {c["key"]: c for c in items["columns"]}
    assert columns["name"]["unique"] and columns["name"]["kind"] == "text"
    assert columns["id"]["unique"] and columns["id"]["kind"] == "integer"
    assert not columns["stock"]["unique"]
    assert columns["parent_id"]["foreign_key"]


def test_a_mapped_class_sends_the_columns_it_maps_not_every_column_of_its_table():
    from sqlalchemy.orm import declarative_base

    base = declarative_base()

    class Item(base):  # the release stopped using `note`, still in the table until dropped
        __table__ = sa.Table("mapped_items", base.metadata,
                             sa.Column("id", sa.Integer, primary_key=True),
                             sa.Column("name", sa.Text, nullable=False),
                             sa.Column("note", sa.Text))
        __mapper_args__ = {"exclude_properties": ["note"]}

    sa.Table("plain", base.metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("note", sa.Text))
    try:
        mapped, plain = statements([base.metadata])

        assert mapped["table"] == "mapped_items"
        assert "note" not in mapped["select"]["sql"] and "mapped_items.name" in mapped["select"]["sql"]
        assert {spec["key"] for spec in mapped["insert"]["params"].values()} == {"name"}
        assert {spec["key"] for spec in mapped["update"]["params"].values() if not spec["primary_key"]} == \
            {"name"}
        assert [c["key"] for c in mapped["columns"]] == ["id", "name"]
        # A table no class maps is used whole, as Core would.
        assert "plain.note" in plain["select"]["sql"]
    finally:
        base.registry.dispose()
