"""Each invoke task reaches its command: `python -m invoke <task>` from the worktree root,
as a developer runs it, against a real database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cli_support import ROOT
from recovery_support import ROWS, backup_path, table

from harness.docker_engine import engine_problem


def invoke(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "DATABASE_URL")}
    return subprocess.run([sys.executable, "-m", "invoke", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**environ, **(env or {})}, stdin=subprocess.DEVNULL, timeout=300)


def test_every_database_task_through_invoke(pg_server, dev_db, url_of, project, tmp_path):
    p, b = ("--project", str(project)), ("--backups", str(tmp_path / "b"))
    url = {"DATABASE_URL": url_of(dev_db)}  # the tasks' default target

    def ok(*args: str) -> str:
        done = invoke(*args, env=url)
        assert done.returncode == 0, f"invoke {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    assert ok("current", *p) == "0002 (head)\n"
    assert ok("history", *p).startswith("0001 -> 0002 (head)")
    assert ok("heads", *p).startswith("0001 -> 0002 (head)")
    assert "up to date" in ok("pending", *p)
    saved = ok("backup", *b).strip().rsplit(" -> ", 1)[1]
    assert ok("psql", "--command", "SELECT count(*) FROM items").split()[2] == "3"

    refused = invoke("stamp", "0001", *p, *b, env={**url, "CI": "true"})
    assert refused.returncode == 2 and "in CI" in refused.stderr

    assert "now at 0001" in ok("stamp", "0001", *p, "--yes", *b)
    assert "now at 0002" in ok("stamp", "0002", *p, "--yes", *b)
    assert "now at 0001" in ok("downgrade", "0001", *p, "--yes", *b)
    assert "now at 0002" in ok("upgrade", "--rev", "0002", *p)
    assert "nothing (already there)" in ok("upgrade", *p)
    assert table(pg_server, dev_db) == [(i, n, None) for i, n, _ in ROWS]
    out = ok("restore", saved, "--yes", *b)
    assert backup_path(out).exists() and table(pg_server, dev_db) == ROWS
    out = ok("reset-db", *p, "--yes", *b)
    assert backup_path(out).exists() and table(pg_server, dev_db) == []


@pytest.mark.skipif(bool(engine_problem()), reason="needs a Docker engine")
def test_db_up_keeps_its_data_across_db_down(tmp_path):
    # A dev server of the test's own: a developer's (or a concurrent run's) is never touched.
    name = f"verify-test-{os.getpid()}"
    env = {"VERIFY_DEV_PORT": "55439", "VERIFY_DEV_DB": "app_dev", "VERIFY_DEV_NAME": name}
    up = invoke("db-up", env=env)
    if up.returncode != 0 and "image" in up.stderr:
        pytest.skip(f"no PostgreSQL image here: {up.stderr.strip()}")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        url = "postgresql://postgres@127.0.0.1:55439/app_dev"
        assert f"export DATABASE_URL={url}" in up.stdout
        made = invoke("psql", "--command", "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)",
                      env={**env, "DATABASE_URL": url})
        assert made.returncode == 0, made.stderr
        assert invoke("db-down", env=env).returncode == 0
        assert invoke("db-up", env=env).returncode == 0
        again = invoke("psql", "--command", "SELECT x FROM kept", env={**env, "DATABASE_URL": url})
        assert again.returncode == 0 and "42" in again.stdout, again.stdout + again.stderr
        saved = invoke("backup", "--backups", str(tmp_path), env={**env, "DATABASE_URL": url})
        assert saved.returncode == 0, saved.stderr  # the default major is one this machine can dump
    finally:
        invoke("db-down", env=env)
        subprocess.run(["docker", "volume", "rm", "-f", f"{name}-dev-data"], capture_output=True)


def on_a_terminal(answer: str, *args: str, env: dict) -> tuple[int, str]:
    """Run an invoke task with a pseudo-terminal as stdin/stdout, typing `answer` at the question."""
    import pty
    import select

    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], stdin=follower, stdout=follower,
                            stderr=follower, cwd=ROOT, env={**environ, **env}, close_fds=True)
    os.close(follower)
    seen, answered = b"", False
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError(f"no output for 60s:\n{seen.decode()}")
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(leader, answer.encode() + b"\n")
            answered = True
    os.close(leader)
    return proc.wait(timeout=60), seen.decode(errors="replace")


def test_stamp_asks_on_a_terminal_and_only_yes_goes_ahead(pg_server, dev_db, url_of, project, tmp_path):
    env = {"DATABASE_URL": url_of(dev_db)}
    args = ("stamp", "0001", "--project", str(project), "--backups", str(tmp_path))
    code, seen = on_a_terminal("n", *args, env=env)
    assert code == 2 and "[y/N]" in seen and "not confirmed" in seen and "backed up" in seen
    assert table(pg_server, dev_db, "SELECT version_num FROM alembic_version") == [("0002",)]
    code, seen = on_a_terminal("y", *args, env=env)
    assert code == 0, seen
    assert table(pg_server, dev_db, "SELECT version_num FROM alembic_version") == [("0001",)]


@pytest.mark.parametrize("task", ["pending", "current", "upgrade"])
def test_a_version_table_naming_no_revision_file_is_one_line_that_points_to_doctor(pg_server, dev_db, url_of,
                                                                                   project, task):
    with pg_server.connect(dev_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00d'")
    done = invoke(task, "--project", str(project), env={"DATABASE_URL": url_of(dev_db)})
    assert done.returncode == 1, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    # A task that changes the database names it first, on stdout; the reading ones say nothing there.
    if task == "upgrade":
        assert done.stdout.startswith(f"upgrade: {dev_db} on ") and done.stdout.count("\n") == 1, done.stdout
    else:
        assert done.stdout == "", done.stdout
    [line] = done.stderr.strip().splitlines()
    assert f"{dev_db} on " in line, "where"
    assert "alembic_version says f00d, which no revision file declares" in line, "what doctor says"
    assert "invoke doctor" in line, "what to do"


def test_doctor_fix_through_invoke_stamps_what_it_printed_after_a_backup(pg_server, dev_db, url_of, project,
                                                                        tmp_path):
    with pg_server.connect(dev_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'feedbeef0042'")
    env = {"DATABASE_URL": url_of(dev_db)}
    looked = invoke("doctor", "--project", str(project), env=env)
    assert looked.returncode == 1, looked.stdout + looked.stderr
    assert f"fix: invoke stamp 0002 --project {project} (backs up first" in looked.stdout, looked.stdout
    assert "alembic stamp" not in looked.stdout
    fixed = invoke("doctor", "--project", str(project), "--fix", "--yes", "--backups", str(tmp_path), env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert backup_path(fixed.stdout).exists()
    assert table(pg_server, dev_db, "SELECT version_num FROM alembic_version") == [("0002",)]
