"""An error's gist, as findings and one-line errors quote it."""

from __future__ import annotations

from checks.project.project import first_line


def test_a_memory_address_is_left_out_so_the_message_reads_the_same_in_every_run():
    # SQLAlchemy's CompileError for op.drop_constraint(None, ...) names an object by address.
    error = Exception("Can't compile <sqlalchemy.sql.base.ReadOnlyColumnCollection object at 0x7fc7c0242de0>")
    again = Exception("Can't compile <sqlalchemy.sql.base.ReadOnlyColumnCollection object at 0x7f1547fdcea0>")
    assert first_line(error) == first_line(again)
    assert "0x" not in first_line(error) and "ReadOnlyColumnCollection object>" in first_line(error)


def test_every_field_of_a_settings_validation_error_is_named():
    # pydantic-settings, as an app that reads its settings at import raises it: one run
    # should tell every variable to set, not the first of three.
    message = "3 validation errors for Settings\n" + "".join(
        f"{name}\n  Field required [type=missing, input_value={{}}, input_type=dict]\n"
        "    For further information visit https://errors.pydantic.dev/2.9/v/missing\n"
        for name in ("PROJECT_NAME", "FIRST_SUPERUSER", "FIRST_SUPERUSER_PASSWORD"))
    gist = first_line(Exception(message))
    assert gist.startswith("3 validation errors for Settings: PROJECT_NAME, FIRST_SUPERUSER, "
                           "FIRST_SUPERUSER_PASSWORD | ")
    assert "Field required" in gist


def test_other_errors_keep_their_first_lines():
    assert first_line(Exception("relation \"items\" does not exist\nLINE 1: SELECT\n^\nmore")) == \
        'relation "items" does not exist | LINE 1: SELECT | ^'
    assert first_line(ValueError()) == "ValueError"
