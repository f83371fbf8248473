"""Chores around the suite (`invoke --list`); each task only calls into harness/ or checks/."""

from __future__ import annotations

from invoke import Exit, task

from harness.errors import HarnessError


@task(
    iterable=["major"],
    help={
        "major": "a PostgreSQL major to build (repeatable; default: 13 to 18)",
        "force": "rebuild images that already exist",
    },
)
def build_images(c, major, force=False):
    """Build PostgreSQL images from Debian packages (needs root), or 14 and 16 from the server wheels."""
    from harness.images import build_images as build

    try:
        build((int(m) for m in major), force=force)
    except HarnessError as exc:
        raise Exit(f"build-images: {exc}", code=1) from None


@task(help={"session": "a nox session to run (repeatable; default: tests_checks, tests_harness and "
                       "tests_compat)"},
      iterable=["session"])
def test(c, session):
    """The suite's own tests: nox sessions side by side (every test once on SQLAlchemy 2, the
    SQLAlchemy-dependent ones again on 1.4), the first streaming, the rest after."""
    import sys

    from harness.suite_runs import run_side_by_side

    code = run_side_by_side(list(session) or ["tests_checks", "tests_harness", "tests_compat"],
                            [sys.executable, "-m", "nox"])
    if code:
        raise Exit(code=code)


# The developer's own database. Every task takes --url (default: $DATABASE_URL, else
# alembic.ini's sqlalchemy.url); the ones that can lose data back it up first, ask, and
# refuse in CI without --yes.
URL = ("the database, e.g. postgresql://me@localhost/app_dev (default: $DATABASE_URL, else "
       "alembic.ini's sqlalchemy.url)")
PROJECT = "folder holding alembic.ini (default: .)"
FORCE = "act on a database that does not look local (remote host, a prod/live name)"
YES = "do not ask (needed in CI and without a terminal)"
BACKUPS = "folder for backups (default: backups)"
TARGET_HELP = {"url": URL, "force": FORCE}
DESTRUCTIVE_HELP = {**TARGET_HELP, "project": PROJECT, "yes": YES, "backups": BACKUPS}


def _target(url, force, yes=None, backups=None, project=None) -> list[str]:
    argv = [*(["--url", url] if url else []), *(["--force"] if force else [])]
    argv += ["--yes"] if yes else []
    argv += ["--backups", backups] if backups else []
    return argv + (["--project", project] if project else [])


@task(help={**DESTRUCTIVE_HELP})
def reset_db(c, url=None, project=".", yes=False, force=False, backups=None):
    """Back up a dirty local database, drop it and rebuild it from the migrations alone."""
    _checks("reset-db", *_target(url, force, yes, backups, project))


@task(help={**TARGET_HELP, "backups": BACKUPS})
def backup(c, url=None, backups=None, force=False):
    """Dump a local database into backups/ (custom format; its revision recorded beside it)."""
    _checks("backup", *_target(url, force, backups=backups))


@task(help={"file": "a .dump file made by `invoke backup`", **TARGET_HELP, "yes": YES, "backups": BACKUPS})
def restore(c, file, url=None, yes=False, force=False, backups=None):
    """Replace a local database with a backup (the database is backed up first)."""
    _checks("restore", file, *_target(url, force, yes, backups))


@task(help={**TARGET_HELP, "project": PROJECT})
def current(c, url=None, project=".", force=False):
    """The revision a database is at."""
    _checks("current", *_target(url, force, project=project))


@task(help={"project": PROJECT})
def history(c, project="."):
    """The project's revisions, newest first."""
    _checks("history", "--project", project)


@task(help={"project": PROJECT})
def heads(c, project="."):
    """The project's head revision(s)."""
    _checks("heads", "--project", project)


@task(help={**TARGET_HELP, "project": PROJECT})
def pending(c, url=None, project=".", force=False):
    """The revisions an upgrade to head would apply, in order."""
    _checks("pending", *_target(url, force, project=project))


@task(help={"rev": "the revision the schema really is at", **DESTRUCTIVE_HELP})
def stamp(c, rev, url=None, project=".", yes=False, force=False, backups=None):
    """Record REV in the version table without migrating (backs up and asks first)."""
    _checks("stamp", rev, *_target(url, force, yes, backups, project))


@task(help={"rev": "where to go (default: heads)", **TARGET_HELP, "project": PROJECT})
def upgrade(c, rev="heads", url=None, project=".", force=False):
    """Apply pending revisions to a local database through the project's env.py."""
    _checks("upgrade", rev, *_target(url, force, project=project))


@task(help={"rev": "a revision id, or base", **DESTRUCTIVE_HELP})
def downgrade(c, rev, url=None, project=".", yes=False, force=False, backups=None):
    """Revert revisions on a local database down to REV (backs up and asks first)."""
    _checks("downgrade", rev, *_target(url, force, yes, backups, project))


@task(help={**TARGET_HELP, "command": "run this SQL and exit"})
def psql(c, url=None, force=False, command=None):
    """psql on a local database, with the client matching its server."""
    _checks("psql", *_target(url, force), *(["--command", command] if command else []))


@task
def db_up(c):
    """Start a persistent local PostgreSQL for development (data in a named volume)."""
    _checks("db-up")


@task
def db_down(c):
    """Stop the development PostgreSQL; its data is kept."""
    _checks("db-down")


@task(help={"url": "the database to diagnose (default: $DATABASE_URL, else alembic.ini's sqlalchemy.url)",
            "project": PROJECT, "report_json": "also write the diagnosis as JSON to this file",
            "fix": "then stamp the revision the schema matches (as `invoke stamp`: backup first, asks)",
            "yes": YES, "force": FORCE, "backups": BACKUPS})
def doctor(c, url=None, project=".", report_json=None, fix=False, yes=False, force=False, backups=None):
    """Diagnose a real database, read-only: revision, pending revisions, hand-made objects, drift."""
    _checks("doctor", *_target(url, force, yes, backups, project), *(["--fix"] if fix else []),
            *(["--report-json", report_json] if report_json else []))


@task(iterable=["relock"], help={"project": "folder holding alembic.ini (default: example)",
                                 "relock": "accept a deliberate edit of this locked revision (repeatable)"})
def lock_migrations(c, project="example", relock=None):
    """Record a checksum of every revision file; the files stage then fails if a locked one changes."""
    _checks("lock", "--project", project, *[arg for rev in relock or [] for arg in ("--relock", rev)])


@task(help={"to": "the revision the base replaces, with all its ancestors", "project": PROJECT,
            "archive": "where the old revision files move (default: _squashed/REV in the scripts folder)",
            "yes": YES})
def squash(c, to, project=".", archive=None, yes=False):
    """Replace REV and its ancestors with one base revision that builds the same schema (asks first)."""
    _checks("squash", "--to", to, "--project", project, *(["--archive", archive] if archive else []),
            *(["--yes"] if yes else []))


def _checks(*argv: str) -> None:
    """Run a `python -m checks` command in-process; its exit code becomes the task's."""
    from checks.cli import main

    code = main(list(argv))
    if code:
        raise Exit(code=code)
