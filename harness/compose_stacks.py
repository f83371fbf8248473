"""Which compose stacks are ours, who owns them, and removing the ones left behind.

A run killed outright (SIGKILL, a lost CI runner) cannot clean up after itself. Every
container and network it made carries our suite label, its owner (host:pid:process
start) and its creation time, so the next run can tell an orphan from a stack a live
run is still using, and never touches anything that is not ours.
"""

from __future__ import annotations

import os
import sys
import time

import docker
from docker.models.containers import Container
from docker.models.resource import Model
from docker.models.volumes import Volume

from harness.docker_engine import engine
from harness.owner import owner_alive, owner_token

PROJECT_PREFIX = "alembic-preflight-"
SUITE_LABEL = "io.alembic-preflight.suite"
RUN_LABEL = "io.alembic-preflight.run"
CREATED_LABEL = "io.alembic-preflight.created"
OWNER_LABEL = "io.alembic-preflight.owner"
PROJECT_LABEL = "com.docker.compose.project"
# Stacks whose owner cannot be checked from here (another host on a shared engine)
# are removed once older than this; VERIFY_STALE_AFTER (seconds) overrides it.
DEFAULT_STALE_AFTER = 6 * 3600


def stack_labels(run_id: str) -> dict[str, str]:
    """The values compose.test.yml puts into our labels, as environment variables."""
    return {
        "VERIFY_RUN_ID": run_id,
        "VERIFY_CREATED": str(int(time.time())),
        "VERIFY_OWNER": owner_token(),
    }


def is_stale(labels: dict[str, str], now: float | None = None) -> bool:
    alive = owner_alive(labels.get(OWNER_LABEL, ""))
    if alive is not None:
        return not alive
    try:
        created = float(labels.get(CREATED_LABEL, ""))
    except ValueError:
        created = 0.0
    limit = float(os.environ.get("VERIFY_STALE_AFTER", DEFAULT_STALE_AFTER))
    return (now or time.time()) - created >= limit


def _labels(obj: Model) -> dict[str, str]:
    labels = obj.labels if isinstance(obj, Container) else obj.attrs.get("Labels")
    return labels or {}


def our_objects(project: str | None = None) -> list[Model]:
    """Containers, networks and volumes of ours (of one project, if given)."""
    client = engine()
    labels = [f"{SUITE_LABEL}=1"] + ([f"{PROJECT_LABEL}={project}"] if project else [])
    filters = {"label": labels}
    found = [
        *client.containers.list(all=True, filters=filters),
        *client.networks.list(filters=filters),
        *client.volumes.list(filters=filters),
    ]
    # The suite label alone could be copied; the project name is ours by construction.
    return [obj for obj in found if _labels(obj).get(PROJECT_LABEL, "").startswith(PROJECT_PREFIX)]


def remove_stack(project: str) -> None:
    """Remove every container (with its anonymous volumes), network and volume of one stack of ours."""
    for obj in our_objects(project):
        try:
            if isinstance(obj, Container):
                obj.remove(force=True, v=True)
            elif isinstance(obj, Volume):
                obj.remove(force=True)
            else:
                obj.remove()
        except docker.errors.APIError as exc:
            if exc.status_code not in (404, 409):  # gone, or being removed: another sweep was first
                raise


def remove_stale_stacks() -> list[str]:
    """Remove our stacks whose run is gone (or, if that cannot be told, that are old); return their names."""
    labels_by_project: dict[str, dict[str, str]] = {}
    for obj in our_objects():
        labels_by_project.setdefault(_labels(obj)[PROJECT_LABEL], _labels(obj))
    removed = []
    for project in sorted(p for p, labels in labels_by_project.items() if is_stale(labels)):
        try:
            remove_stack(project)
        except docker.errors.APIError as exc:  # best effort: it must not stop this run
            print(f"alembic-preflight: could not remove stale compose project {project}: {exc}",
                  file=sys.stderr)
        else:
            removed.append(project)
    return removed
