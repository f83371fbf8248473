"""Passwords never reach what the command prints, whatever path they take: a rejected
argument argparse echoes, a real driver's connection error (psycopg and psycopg2, an
unreachable host and a wrong password), and env.py printing its URL (under -v and into
the project's output log). Passwords carry the characters URLs and libpq treat apart."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from cli_support import run_cli
from projects import ENVS, assert_no_secret, assert_usage_error, build_project, items_revision
from test_bad_input import ROLE, password_url  # noqa: F401 - a fixture: a role with scram-sha-256

from checks.project.output import FOLDER, LOG_NAME
from harness.errors import HarnessError

SECRET = "Zebra9"  # inside every password below; must never be printed
PASSWORDS = [f"{SECRET} with space", f"p@ss:{SECRET}/?#%&", f"""q'u"o\\te{SECRET}"""]
DRIVERS = ["postgresql", "postgresql+psycopg", "postgresql+psycopg2"]


def url(driver: str, password: str, where: str) -> str:
    return f"{driver}://app:{quote(password, safe='')}@{where}/postgres"


@pytest.mark.parametrize("password", PASSWORDS)
def test_an_argument_argparse_rejects_is_echoed_masked(password):
    result = run_cli("history", "--url", url("postgresql", password, "127.0.0.1:1"))
    assert result.code == 2 and "unrecognized arguments: --url" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(result, SECRET, quote(SECRET))


@pytest.mark.parametrize(("driver", "password"), list(zip(DRIVERS, PASSWORDS, strict=True)))
@pytest.mark.parametrize("command", ["verify", "current"])
def test_a_real_connection_error_to_an_unreachable_host_is_masked(command, driver, password, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()])
    result = run_cli(command, "--project", str(project), "--url", url(driver, password, "127.0.0.1:1"))
    assert_usage_error(result, "127.0.0.1:1", secrets=(SECRET,))


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("command", ["verify", "current"])
def test_a_real_wrong_password_error_is_masked(command, driver, password_url, tmp_path):  # noqa: F811
    project = build_project(tmp_path / "project", [items_revision()])
    wrong = password_url(quote(f"wrong {SECRET}'\"", safe="")).replace("postgresql://", f"{driver}://")
    result = run_cli(command, "--project", str(project), "--url", wrong)
    assert_usage_error(result, f"the password for user '{ROLE}' was rejected", secrets=(SECRET,))


PRINTING_ENV = (ENVS / "sync_template.py").read_text().replace(
    "target_metadata = metadata\n",
    "target_metadata = metadata\nprint('connecting to', config.get_main_option('sqlalchemy.url'))\n")


@pytest.mark.parametrize("verbose", [False, True])
def test_env_py_printing_its_url_is_masked_on_the_console_and_in_the_log(verbose, pg_server, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"migrations/env.py": PRINTING_ENV})
    ep = pg_server.endpoint
    # The session server trusts local connections: any password gets in, and env.py prints it.
    server_url = url("postgresql", PASSWORDS[1], f"{ep.host}:{ep.port}").replace("app", ep.user, 1)
    result = run_cli("verify", "--project", str(project), "--stage", "fresh", "--url", server_url,
                     *(["-v"] if verbose else []), report=tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    log = project / FOLDER / LOG_NAME
    shown = result.stderr if verbose else log.read_text()
    assert "connecting to postgresql" in shown and ":***@" in shown, shown
    assert_no_secret(result, SECRET, quote(SECRET))
    if log.exists():
        assert SECRET not in log.read_text() and quote(SECRET) not in log.read_text()


LEAKED = f"postgresql://app:{SECRET}@db.internal/shop"


@pytest.mark.parametrize(("error", "code", "exit_code"), [
    (RuntimeError(f"cannot reach {LEAKED}"), "stage-crashed", 1),
    (HarnessError(f"cannot use the server at {LEAKED}"), "project-error", 2),
])
def test_a_finding_made_from_an_exception_is_masked_on_the_console(error, code, exit_code, monkeypatch,
                                                                   capsys, tmp_path):
    # Such exceptions come from our bugs and unforeseen shapes, which no fixture can name in
    # advance: the stage raises one, and the real command prints it.
    from checks.cli import main
    from checks.stages import heads

    def crash(run):
        raise error

    monkeypatch.setattr(heads, "check", crash)
    project = build_project(tmp_path / "project", [items_revision()])
    assert main(["verify", "--project", str(project), "--stage", "heads", "--quiet-progress"]) == exit_code
    out, err = capsys.readouterr()
    assert f"✗ {code}: " in out and "app:***@db.internal" in out, out
    assert SECRET not in out + err
