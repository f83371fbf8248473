"""Passwords never reach output, in every form one travels in: a URL, libpq's key=value
string, an environment assignment, a dict or JSON echoed by a settings library, a DSN
inside a driver's error."""

from __future__ import annotations

import os

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.errors import mask_passwords

SECRET = "s3cr%t-Pw"


@pytest.mark.parametrize("text", [
    f"postgresql+psycopg://app:{SECRET}@db.internal:5432/shop",
    f"postgresql://app:{SECRET.replace('%', '%25')}@127.0.0.1/shop?sslmode=disable",
    f"host=127.0.0.1 port=5432 user=app password={SECRET} dbname=shop",
    f"host=127.0.0.1 user=app password='{SECRET} with space' dbname=shop",
    f"PGPASSWORD={SECRET} psql -h localhost",
    f"POSTGRES_PASSWORD: {SECRET}",
    f"{{'user': 'app', 'password': '{SECRET}', 'host': 'db'}}",
    f'{{"user": "app", "password": "{SECRET}"}}',
    f'connection to server failed: (psycopg.OperationalError) dsn "user=app password={SECRET} host=db"',
    f"1 validation error for Settings\nPOSTGRES_PASSWORD\n  input_value='{SECRET}'",
])
def test_every_form_of_a_password_is_masked(text):
    masked = mask_passwords(text)
    assert "s3cr" not in masked, masked
    assert "***" in masked


def test_words_about_passwords_are_not_mangled():
    message = 'FATAL:  password authentication failed for user "app"'
    assert mask_passwords(message) == message


# --- any password, in every form: the masked text does not depend on the password ----------

def _forms() -> dict:
    """How a password reaches text, each written by the code that really writes it."""
    import json
    from urllib.parse import quote

    import psycopg
    import psycopg2.extensions
    from sqlalchemy.engine import URL

    return {
        "sqlalchemy URL": lambda pw: URL.create("postgresql+psycopg", "app", pw, "db.internal", 5432,
                                                "shop").render_as_string(hide_password=False),
        "url-quoted URL": lambda pw: f"postgresql://app:{quote(pw, safe='')}@127.0.0.1/shop?sslmode=disable",
        "libpq key=value (psycopg)": lambda pw: psycopg.conninfo.make_conninfo(
            host="127.0.0.1", user="app", password=pw, dbname="shop"),
        "libpq key=value (psycopg2)": lambda pw: psycopg2.extensions.make_dsn(
            host="127.0.0.1", user="app", password=pw, dbname="shop"),
        "dict repr": lambda pw: repr({"user": "app", "password": pw, "host": "db"}),
        "JSON": lambda pw: json.dumps({"user": "app", "password": pw, "host": "db"}),
        "pydantic echo": lambda pw: ("1 validation error for Settings\nPOSTGRES_PASSWORD\n  String should "
                                     f"have at most 3 characters [type=string_too_long, input_value={pw!r}, "
                                     "input_type=str]"),
        "a DSN quoted in a driver's error": lambda pw: (
            "(psycopg.OperationalError) connection failed for dsn "
            f'"{psycopg.conninfo.make_conninfo(host="db", user="app", password=pw)}"'),
    }


# Printable passwords with every special character URLs, libpq, shells and JSON treat apart.
PASSWORDS = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=24) | \
    st.text(st.characters(blacklist_categories=["Cs", "Cc", "Zl", "Zp"]), min_size=1, max_size=12)
# Forms a person types by hand, with no quoting at all: only passwords that need none.
BARE = st.text(st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="@/?#\"',;}&)"),
               min_size=1, max_size=24)
BARE_FORMS = {
    "URL as typed": lambda pw: f"postgresql+psycopg://app:{pw}@db.internal:5432/shop",
    "env assignment": lambda pw: f"PGPASSWORD={pw} psql -h localhost",
    "YAML-ish setting": lambda pw: f"POSTGRES_PASSWORD: {pw}",
}


@settings(max_examples=150, deadline=None, database=None, derandomize=os.environ.get("CI") == "true")
@given(password=PASSWORDS, form=st.sampled_from(sorted(_forms())))
def test_any_password_is_masked_in_every_form(password, form):
    # Inside a message's own "...", a bare " in the value cannot be told from the closing one.
    # (Masking may take the closing quote along with the value: no harm, so it is not compared.)
    wrapped = form == "a DSN quoted in a driver's error"
    assume(not (wrapped and '"' in password))
    write = _forms()[form]
    masked, reference = mask_passwords(write(password)), mask_passwords(write("x"))
    if wrapped:
        masked, reference = masked.rstrip('"'), reference.rstrip('"')
    assert masked == reference, write(password)


@settings(max_examples=100, deadline=None, database=None, derandomize=os.environ.get("CI") == "true")
@given(password=BARE, form=st.sampled_from(sorted(BARE_FORMS)))
def test_any_password_typed_bare_is_masked(password, form):
    write = BARE_FORMS[form]
    assert mask_passwords(write(password)) == mask_passwords(write("x")), write(password)


@pytest.mark.parametrize("rule", ["_URL_PASSWORD", "_FIELD_VALUE", "_KV_PASSWORD"])
def test_every_masking_rule_is_needed_by_an_example(rule, monkeypatch):
    """A rule no example needs could be dropped (or broken) without a test noticing."""
    import re

    import harness.errors

    examples = test_every_form_of_a_password_is_masked.pytestmark[0].args[1]
    monkeypatch.setattr(harness.errors, rule, re.compile(r"(?!)"))
    assert any("s3cr" in mask_passwords(text) for text in examples), f"no example needs {rule}"
