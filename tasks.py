"""Chores around the suite (`invoke --list`); each task only calls into harness/ or checks/."""

from __future__ import annotations

from invoke import Exit, task

from harness.errors import HarnessError


@task(
    iterable=["major"],
    help={
        "major": "a PostgreSQL major to build (repeatable; default: 13, 15, 17, 18)",
        "force": "rebuild images that already exist",
    },
)
def build_images(c, major, force=False):
    """Build PostgreSQL images from Debian packages, for hosts that cannot pull (needs root)."""
    from harness.images import build_images as build

    try:
        build((int(m) for m in major), force=force)
    except HarnessError as exc:
        raise Exit(f"build-images: {exc}", code=1) from None


@task(help={"url": "the local database to rebuild, e.g. postgresql://me@localhost/app_dev",
            "project": "folder holding alembic.ini (default: .)",
            "yes": "really drop it (without this, only shows what would be dropped)"})
def reset_db(c, url, project=".", yes=False):
    """Drop a dirty local database and rebuild it from the migrations alone."""
    _checks("reset-db", "--project", project, "--url", url, *(["--yes"] if yes else []))


@task(help={"url": "the database to diagnose (default: alembic.ini's sqlalchemy.url, else DATABASE_URL)",
            "project": "folder holding alembic.ini (default: .)",
            "report_json": "also write the diagnosis as JSON to this file"})
def doctor(c, url=None, project=".", report_json=None):
    """Diagnose a real database, read-only: revision, pending revisions, hand-made objects, drift."""
    _checks("doctor", "--project", project, *(["--url", url] if url else []),
            *(["--report-json", report_json] if report_json else []))


@task(iterable=["relock"], help={"project": "folder holding alembic.ini (default: example)",
                                 "relock": "accept a deliberate edit of this locked revision (repeatable)"})
def lock_migrations(c, project="example", relock=None):
    """Record a checksum of every revision file; the files stage then fails if a locked one changes."""
    _checks("lock", "--project", project, *[arg for rev in relock or [] for arg in ("--relock", rev)])


def _checks(*argv: str) -> None:
    """Run a `python -m checks` command in-process; its exit code becomes the task's."""
    from checks.cli import main

    code = main(list(argv))
    if code:
        raise Exit(code=code)
