"""Bad input: one line on stderr, exit 2, never a traceback, never a password.

The password tests use a role of their own on the session server, with scram-sha-256
in pg_hba.conf for that role only, so a wrong password is refused the way a real
server refuses it.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from cli_support import run_cli
from projects import Rev, assert_clean, assert_no_secret, assert_usage_error, build_project, items_revision

ROLE = "verify_pw"
SECRET = "Secret"  # part of every password below; must never be printed
PASSWORD = f"pct%{SECRET}"  # a % also exercises the escaping for alembic.ini's ConfigParser
URL_PASSWORD = PASSWORD.replace("%", "%25")


@pytest.fixture(scope="module")
def password_url(pg_server):
    """password_url(password) -> a URL for a role the server checks passwords for."""
    ep = pg_server.endpoint
    with pg_server.connect() as conn:
        hba = Path(conn.execute("SHOW hba_file").fetchone()[0])
        conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{PASSWORD}'")
        original = hba.read_text()
        hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n{original}")
        conn.execute("SELECT pg_reload_conf()")
    _wait_for_password_auth(ep)
    try:
        yield lambda password: f"postgresql://{ROLE}:{password}@{ep.host}:{ep.port}/postgres"
    finally:
        hba.write_text(original)
        with pg_server.connect() as conn:
            conn.execute("SELECT pg_reload_conf()")
            for (name,) in conn.execute("SELECT datname FROM pg_database d JOIN pg_roles r "
                                        "ON r.oid = d.datdba WHERE r.rolname = %s", (ROLE,)).fetchall():
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute(f"DROP ROLE {ROLE}")


def _wait_for_password_auth(ep, timeout: float = 10.0) -> None:
    # The postmaster rereads pg_hba.conf asynchronously after pg_reload_conf().
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            psycopg.connect(host=ep.host, port=ep.port, user=ROLE, password="wrong",
                            dbname="postgres").close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                return
        time.sleep(0.05)
    raise AssertionError("pg_hba.conf reload did not take effect")


@pytest.fixture
def clean_project(tmp_path):
    return build_project(tmp_path / "project", [items_revision()])


# --- the project ----------------------------------------------------------------------

def test_missing_project_directory(verify, tmp_path):
    assert_usage_error(verify(tmp_path / "nowhere"), "project directory not found", "--project")


def test_no_alembic_ini(verify, tmp_path):
    assert_usage_error(verify(tmp_path), "no alembic.ini at", "alembic init")


def test_env_py_raising_on_import_masks_the_url_it_prints(verify, tmp_path, password_url):
    project = build_project(tmp_path / "project", [items_revision()], env="raises")
    line = assert_usage_error(verify(project, "--url", password_url(URL_PASSWORD)),
                              "env.py failed before running any migration", "RuntimeError",
                              "migrations/env.py line", f"{ROLE}:***@", secrets=(SECRET,))
    assert "settings incomplete" in line


def test_unimportable_models(verify, tmp_path):
    models = "import not_installed_dependency  # noqa\n"
    project = build_project(tmp_path / "project", [items_revision()], models=models)
    assert_usage_error(verify(project), "ModuleNotFoundError", "not_installed_dependency",
                       "app/models.py line 1")


def test_unimportable_metadata_override(verify, clean_project):
    assert_usage_error(verify(clean_project, "--metadata", "app.nothing_here:metadata"),
                       "cannot import app.nothing_here for --metadata")


def test_env_py_without_target_metadata_asks_for_metadata(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], env="no_metadata")
    assert_usage_error(verify(project, "--stage", "drift"), "no target_metadata", "--metadata")


BROKEN_HOOKS = {  # the setting, the hook's body, what the error must say
    "runner that never calls": ("runner", "def hook(call):\n    pass\n",
                                ("env.py returned without running any migration",
                                 "app.hooks:hook must call the function")),
    "bootstrap that raises": ("bootstrap", "def hook(conn):\n    conn.exec_driver_sql('TABLE nothing')\n",
                              ("bootstrap hook app.hooks:hook failed", 'relation "nothing" does not exist')),
}


@pytest.mark.parametrize("broken", BROKEN_HOOKS)
def test_broken_hook(verify, tmp_path, broken):
    setting, source, fragments = BROKEN_HOOKS[broken]
    project = build_project(tmp_path / "project", [items_revision()], files={"app/hooks.py": source},
                            settings=f'{setting} = "app.hooks:hook"\n')
    assert_usage_error(verify(project), *fragments)


# --- the server ------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["127.0.0.1:1", "unreachable.invalid:5432"])
def test_unreachable_url(verify, clean_project, where):
    url = f"postgresql://someone:{SECRET}@{where}/postgres"
    assert_usage_error(verify(clean_project, "--url", url), "cannot connect", where,
                       "check host and port", secrets=(SECRET,))


def test_wrong_password(verify, clean_project, password_url):
    assert_usage_error(verify(clean_project, "--url", password_url(f"wrong{SECRET}")),
                       f"the password for user '{ROLE}' was rejected", secrets=(SECRET,))


def test_unknown_user(verify, clean_project, pg_server):
    ep = pg_server.endpoint
    url = f"postgresql://nobody_here:{SECRET}@{ep.host}:{ep.port}/postgres"
    assert_usage_error(verify(clean_project, "--url", url), "nobody_here", secrets=(SECRET,))


@pytest.mark.parametrize("url", [f"mysql://root:{SECRET}@localhost/shop", f"sqlite:///{SECRET}.db"])
def test_url_of_another_dialect(verify, clean_project, url):
    assert_usage_error(verify(clean_project, "--url", url), "PostgreSQL only", secrets=(SECRET,))


def test_url_that_is_no_url(verify, clean_project):
    assert_usage_error(verify(clean_project, "--url", f"{SECRET} at localhost"), "not a database URL",
                       secrets=(SECRET,))


@pytest.mark.parametrize(("hosts", "url"), [
    ("h1:5432,h2:5432", f"postgresql://app:{SECRET}@h1:5432,h2:5432/shop"),
    ("h1,h2", f"postgresql://app:{SECRET}@h1,h2/shop"),
    ("h1,h2", f"postgresql://app:{SECRET}@/shop?host=h1&host=h2"),
])
def test_a_url_with_several_hosts_is_refused_wherever_a_url_is_read(verify, clean_project, hosts, url):
    # libpq would take whichever host answered first: throwaway databases, a stamp or a
    # restore could land on a server nobody named alone.
    expected = (f"names several hosts ({hosts}); give one host", )
    assert_usage_error(verify(clean_project, "--url", url), "--url", *expected, secrets=(SECRET,))
    project = ("--project", str(clean_project))
    assert_usage_error(run_cli("current", *project, env={"DATABASE_URL": url}), "DATABASE_URL", *expected,
                       secrets=(SECRET,))
    assert_usage_error(run_cli("doctor", *project, "--url", url), "--url", *expected, secrets=(SECRET,))


def test_password_never_appears_in_a_full_run(verify, tmp_path, password_url):
    # A correct project passes with password auth, and a revision that puts the whole URL
    # into its error message has it masked in the finding, the console and the report.
    assert_clean(result := verify(build_project(tmp_path / "good", [items_revision()]),
                                  "--url", password_url(URL_PASSWORD)))
    assert_no_secret(result, SECRET)
    leaky = Rev("0001", None, 'raise RuntimeError("cannot reach " + '
                'op.get_bind().engine.url.render_as_string(hide_password=False))')
    result = verify(build_project(tmp_path / "leaky", [leaky]), "--url", password_url(URL_PASSWORD))
    assert result.code == 1
    [finding] = result.findings("fresh", "upgrade-failed")
    assert f"{ROLE}:***@" in finding["message"]
    assert_no_secret(result, SECRET)


# --- settings and the command line -------------------------------------------------------

def test_unknown_setting(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()],
                            settings='critical_tabels = ["items"]\n')
    assert_usage_error(verify(project), "unknown setting(s) critical_tabels", "critical_tables")


def test_settings_that_are_not_toml(verify, clean_project):
    (clean_project / "alembic-preflight.toml").write_text("ignore = [items\n")
    assert_usage_error(verify(clean_project), "alembic-preflight.toml: not valid TOML")


def test_unknown_stage(verify, clean_project):
    assert_usage_error(verify(clean_project, "--stage", "drfit"), "unknown stage(s) drfit",
                       "valid stages: files, ", "roundtrip")


def test_unknown_downgrade_floor(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], settings='downgrade_floor = "9999"\n')
    assert_usage_error(verify(project, "--stage", "roundtrip"), "downgrade_floor '9999' is not a revision")
