"""Every refusal of the tasks that can lose data: nothing is read, backed up or changed.

Remote hosts and prod-looking names are refused before any connection; CI and a missing
terminal are refused before any backup; a terminal answer other than yes changes nothing.
"""

from __future__ import annotations

import io

import pytest
from recovery_support import ROWS, table

from checks.cli import main
from checks.errors import ConfigError
from checks.recovery import safety
from checks.recovery.safety import Consent
from checks.recovery.target import Target

DESTRUCTIVE = {"reset-db": [], "restore": ["FILE"], "downgrade": ["0001"], "stamp": ["0001"]}


def argv(task: str, project, url: str, backup_file, *extra: str) -> list[str]:
    positional = [str(backup_file) if a == "FILE" else a for a in DESTRUCTIVE[task]]
    project_args = [] if task == "restore" else ["--project", str(project)]
    return [task, *positional, *project_args, "--url", url, *extra]


@pytest.fixture
def backup_file(tmp_path):
    path = tmp_path / "some.dump"
    path.write_bytes(b"PGDMP")
    return path


def assert_untouched(pg_server, dev_db, folder) -> None:
    assert table(pg_server, dev_db) == ROWS
    assert table(pg_server, dev_db, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert not folder.exists(), "a refused task must not even take a backup"


@pytest.mark.parametrize("task", DESTRUCTIVE)
def test_refused_in_ci_without_yes(task, capsys, monkeypatch, pg_server, project, dev_db, url_of,
                                   backup_file, tmp_path):
    monkeypatch.setenv("CI", "true")
    code = main(argv(task, project, url_of(dev_db), backup_file, "--backups", str(tmp_path / "b")))
    err = capsys.readouterr().err
    assert code == 2 and "in CI" in err and "--yes" in err and len(err.splitlines()) == 1
    assert_untouched(pg_server, dev_db, tmp_path / "b")


@pytest.mark.parametrize("task", DESTRUCTIVE)
def test_refused_without_a_terminal_unless_yes(task, capsys, pg_server, project, dev_db, url_of,
                                               backup_file, tmp_path):
    # pytest's stdin is not a terminal, as in a pipe or a cron job.
    code = main(argv(task, project, url_of(dev_db), backup_file, "--backups", str(tmp_path / "b")))
    err = capsys.readouterr().err
    assert code == 2 and "no terminal to confirm on" in err and "--yes" in err
    assert_untouched(pg_server, dev_db, tmp_path / "b")


@pytest.mark.parametrize("task", [*DESTRUCTIVE, "upgrade", "backup", "psql"])
def test_a_remote_host_is_refused_naming_it_even_with_yes(task, capsys, project, backup_file, tmp_path):
    url = "postgresql://me:s3cret@db.example.com/app"
    args = argv(task, project, url, backup_file, "--yes") if task in DESTRUCTIVE else \
        [task, *(["--project", str(project)] if task == "upgrade" else []), "--url", url]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "db.example.com" in err and "--force" in err and "s3cret" not in err


@pytest.mark.parametrize("task", DESTRUCTIVE)
def test_a_prod_looking_name_is_refused_even_on_localhost(task, capsys, project, pg_server, backup_file):
    url = pg_server.url("shop_production").render_as_string(hide_password=False)
    code = main(argv(task, project, url, backup_file, "--yes"))
    err = capsys.readouterr().err
    assert code == 2 and "'shop_production' contains 'production'" in err and "--force" in err


def test_force_lets_a_prod_looking_local_database_through(capsys, pg_server, make_database, project,
                                                          url_of, tmp_path):
    name = make_database("live")  # verify_<run>_<n>_live: 'live' as a word
    assert main(["upgrade", "--project", str(project), "--url", url_of(name)]) == 2
    assert "contains 'live'" in capsys.readouterr().err
    assert main(["upgrade", "--project", str(project), "--url", url_of(name), "--force"]) == 0
    assert main(["stamp", "0001", "--project", str(project), "--url", url_of(name), "--force", "--yes",
                 "--backups", str(tmp_path)]) == 0
    assert table(pg_server, name, "SELECT version_num FROM alembic_version") == [("0001",)]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_only_yes_goes_ahead():
    questions = []

    def answer(reply):
        def ask(question):
            questions.append(question)
            return reply
        return ask

    safety.confirm(Consent(ask=answer("y")), "stamp", "stamp it", stdin=Terminal())
    assert questions == ["stamp: stamp it? [y/N] "]
    for reply in ("", "n", "no", "whatever"):
        with pytest.raises(ConfigError, match="not confirmed, nothing was done"):
            safety.confirm(Consent(ask=answer(reply)), "stamp", "stamp it", stdin=Terminal())


def test_connected_sessions_are_named_and_kept_unless_the_user_agrees(pg_server, dev_db, url_of):
    target = Target.from_url(url_of(dev_db))
    other = pg_server.connect(dev_db)
    try:
        out = io.StringIO()
        with pytest.raises(ConfigError, match="not confirmed"):
            safety.clear_sessions(target, Consent(ask=lambda q: "n"), "reset-db", out=out)
        assert f"pid {other.info.backend_pid}" in out.getvalue()
        assert other.execute("SELECT 1").fetchone() == (1,), "nobody is disconnected without a yes"
        from checks.recovery.database import recreate

        with pytest.raises(ConfigError, match=f"pid {other.info.backend_pid}"):
            recreate(target)  # no WITH (FORCE) unless the caller asked the user
        assert table(pg_server, dev_db) == ROWS
    finally:
        other.close()


@pytest.mark.parametrize("url", ["postgresql://me@localhost/app_dev", "postgresql://me@127.0.0.1/app",
                                 "postgresql://me@[::1]/app", "postgresql:///app?host=/var/run/postgresql",
                                 "postgresql://me@db/app", "postgresql://me@pg17/app",
                                 "postgres://me@localhost/products"])
def test_what_counts_as_local(url):
    assert Target.from_url(url).not_local_because() == []


@pytest.mark.parametrize("url, saw", [("postgresql://me@10.0.0.5/app", "host '10.0.0.5'"),
                                      ("postgresql://me@localhost/app_prod", "contains 'prod'"),
                                      ("postgresql://me@localhost/shop_live", "contains 'live'")])
def test_what_does_not(url, saw):
    assert saw in "; ".join(Target.from_url(url).not_local_because())


def test_no_pg_dump_new_enough_means_no_change(capsys, monkeypatch, pg_server, project, dev_db, url_of,
                                               tmp_path):
    # As on a machine whose newest client is older than the server (a dump needs pg_dump >= server).
    from harness import client_tools

    older = client_tools.ClientTool("/usr/lib/postgresql/14/bin/pg_dump", pg_server.major - 1)
    monkeypatch.setattr(client_tools, "_candidates", lambda name: [older])
    code = main(["reset-db", "--project", str(project), "--url", url_of(dev_db), "--yes",
                 "--backups", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 2 and f"pg_dump must be {pg_server.major} or newer" in err
    assert f"postgresql-client-{pg_server.major}" in err
    assert table(pg_server, dev_db) == ROWS


@pytest.mark.parametrize("task", ["reset-db", "restore"])
def test_the_question_gives_exact_row_counts(task, capsys, monkeypatch, pg_server, project, dev_db, url_of,
                                             tmp_path):
    """Not the planner's estimate: these tables were never analyzed, so it says 0."""
    asked = []
    monkeypatch.setattr("sys.stdin", type("Terminal", (io.StringIO,), {"isatty": lambda self: True})())
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or "n")
    saved = tmp_path / "b" / "x.dump"
    if task == "restore":
        assert main(["backup", "--url", url_of(dev_db), "--backups", str(tmp_path / "b")]) == 0
        saved = next((tmp_path / "b").glob("*.dump"))
    code = main(argv(task, project, url_of(dev_db), saved, "--backups", str(tmp_path / "b")))
    assert code == 2 and "not confirmed" in capsys.readouterr().err
    [question] = asked
    assert "2 tables, 4 rows (public.items 3, public.alembic_version 1)" in question, question
    assert table(pg_server, dev_db) == ROWS


def test_counting_says_when_it_ran_out_of_time_or_rows(pg_server, dev_db, url_of):
    from checks.recovery.contents import contents

    target = Target.from_url(url_of(dev_db))
    assert contents(target, cap=2) == ("2 tables, more than 3 rows (public.items more than 2, "
                                       "public.alembic_version 1)")
    with pg_server.connect(dev_db) as holder:  # a session in the way: count(*) waits on its lock
        holder.execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        said = contents(target, budget_s=0.5)
    assert "counting took too long (over 0.5 s) for the other 1" in said, said
    assert said.startswith("2 tables, at least 1 row in the 1 counted"), said
