"""reset-db and restore drop and create the database: what it held beyond its schema (owner,
grants, locale, settings, comment, extensions) comes back as it was, not as server defaults."""

from __future__ import annotations

import contextlib
import io
import uuid

import pytest
from recovery_support import backup_path

from checks.cli import main

# Read independently of checks/recovery/database_state.py: the catalogs as they are.
DATABASE = """
SELECT pg_get_userbyid(datdba), ARRAY(SELECT a::text FROM unnest(datacl) a ORDER BY 1),
       pg_encoding_to_char(encoding), datcollate, datctype, datconnlimit,
       shobj_description(oid, 'pg_database'),
       ARRAY(SELECT pg_get_userbyid(s.setrole) || ': ' || array_to_string(s.setconfig, '; ')
             FROM pg_db_role_setting s WHERE s.setdatabase = d.oid ORDER BY 1)
FROM pg_database d WHERE datname = %s
"""


def database_level(pg_server, name: str) -> dict:
    with pg_server.connect() as conn:
        *database, settings = conn.execute(DATABASE, (name,)).fetchone()
    with pg_server.connect(name) as conn:
        extensions = conn.execute("SELECT extname, extnamespace::regnamespace::text, extversion "
                                  "FROM pg_extension ORDER BY 1").fetchall()
    return {"pg_database": database, "pg_db_role_setting": settings, "extensions": extensions}


@pytest.fixture
def dressed_db(pg_server, role, project, url_of):
    """A database owned by an ordinary role, with its own locale, grants, settings, comment and
    extensions, at the project's head: what a developer's database accumulates."""
    reader = f"reader_{uuid.uuid4().hex[:8]}"
    name = f"app_dev_{uuid.uuid4().hex[:8]}"
    with pg_server.connect() as conn:
        utf8 = conn.execute("SELECT pg_encoding_to_char(encoding) = 'UTF8' FROM pg_database "
                            "WHERE datname = 'template1'").fetchone()[0]
        encoding = "LATIN1" if utf8 else "UTF8"  # not template1's: CREATE DATABASE must say so
        conn.execute(f"CREATE ROLE {reader} LOGIN")
        conn.execute(f"CREATE DATABASE {name} OWNER {role.name} TEMPLATE template0 ENCODING '{encoding}' "
                     "LC_COLLATE 'C' LC_CTYPE 'C' CONNECTION LIMIT 40")
        conn.execute(f"REVOKE ALL ON DATABASE {name} FROM PUBLIC")
        conn.execute(f"GRANT CONNECT ON DATABASE {name} TO {reader}")
        conn.execute(f"GRANT TEMPORARY ON DATABASE {name} TO {reader} WITH GRANT OPTION")
        conn.execute(f"""ALTER DATABASE {name} SET search_path = "$user", public, "Odd, Schema" """)
        conn.execute(f"ALTER DATABASE {name} SET statement_timeout = '5min'")
        conn.execute(f"ALTER DATABASE {name} SET app.tenant = 'acme'")
        conn.execute(f"ALTER ROLE {reader} IN DATABASE {name} SET work_mem = '8MB'")
        conn.execute(f"COMMENT ON DATABASE {name} IS 'the app''s dev database'")
    with pg_server.connect(name) as conn:
        conn.execute("CREATE EXTENSION pg_trgm; CREATE EXTENSION citext")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["upgrade", "--project", str(project), "--url", url_of(name)]) == 0
    yield name
    with pg_server.connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE {reader}")


def test_reset_db_and_restore_keep_the_database_level_state(capsys, pg_server, project, dressed_db, url_of,
                                                            tmp_path):
    before = database_level(pg_server, dressed_db)
    assert before["pg_database"][1] and before["pg_db_role_setting"] and before["extensions"]
    b = ("--backups", str(tmp_path))

    assert main(["reset-db", "--project", str(project), "--url", url_of(dressed_db), "--yes", *b]) == 0
    out = capsys.readouterr().out
    assert "now at 0002" in out and "had the extension" not in out, out
    assert database_level(pg_server, dressed_db) == before

    assert main(["restore", str(backup_path(out)), "--url", url_of(dressed_db), "--yes", *b]) == 0
    capsys.readouterr()
    assert database_level(pg_server, dressed_db) == before
