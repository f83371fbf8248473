"""Passwords never reach output, in every form one travels in: a URL, libpq's key=value
string, an environment assignment, a dict or JSON echoed by a settings library, a DSN
inside a driver's error."""

from __future__ import annotations

import pytest

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
