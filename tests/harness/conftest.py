"""Fixtures for tests that need a real Docker engine (marked `docker`)."""

from __future__ import annotations

import pytest
from prereqs import skip_or_fail

from harness.compose import compose_available, image_for
from harness.compose_cli import compose_command
from harness.docker_engine import engine, engine_problem
from harness.errors import ServerError
from harness.images import BUILDABLE


@pytest.fixture(scope="session")
def docker_engine():
    problem = engine_problem()
    if problem is None:
        try:
            compose_command()
        except ServerError as exc:
            problem = str(exc)
    if problem:
        skip_or_fail(problem)
    return engine()


@pytest.fixture
def need_image(docker_engine):
    """Call with a major: skips (fails in CI for majors `invoke build-images` makes) if it has no image."""

    def need(major: int) -> str:
        problem = compose_available(major)
        if problem:
            if major in BUILDABLE:
                skip_or_fail(problem)
            pytest.skip(problem)  # a major `invoke build-images` cannot make
        return image_for(major)

    return need


@pytest.fixture
def no_leftovers(docker_engine):
    """Asserts, after the test body, that it left no container, network or volume of ours."""
    volumes_before = {v.name for v in docker_engine.volumes.list()}
    projects: list[str] = []
    yield projects.append
    for project in projects:
        label = {"label": f"com.docker.compose.project={project}"}
        left = [
            *(f"container {c.name}" for c in docker_engine.containers.list(all=True, filters=label)),
            *(f"network {n.name}" for n in docker_engine.networks.list(filters=label)),
            *(f"volume {v.name}" for v in docker_engine.volumes.list(filters=label)),
        ]
        assert not left, f"project {project} left {left}"
    new_volumes = {v.name for v in docker_engine.volumes.list()} - volumes_before
    assert not new_volumes, f"volumes appeared and stayed: {new_volumes}"
