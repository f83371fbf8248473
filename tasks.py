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
