"""The project's own process on the oldest stack the suite supports there: Debian bullseye's
Python 3.9 with SQLAlchemy 1.3, Alembic 1.5 and psycopg2, run in a container of that suite
(built from Debian's packages, as the PostgreSQL images are) against a real server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from agent_runs import OLDEST_STACK, walk_two_revisions
from prereqs import skip_or_fail
from setup_image import pip_settings, setup_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SUITE = "bullseye"  # Python 3.9


@pytest.fixture(scope="module")
def oldest_python(docker_engine, tmp_path_factory) -> list[str]:
    """The command that runs a bullseye Python 3.9 virtual environment holding the oldest stack;
    it sees /tmp, where the projects, the suite's private copy and the environment are."""
    if os.geteuid() != 0:
        skip_or_fail("building the bullseye image needs root (debootstrap, chroot)")
    if not Path("/usr/sbin/debootstrap").exists():
        skip_or_fail("debootstrap is not installed (apt-get install debootstrap; .ci/run does)")
    image = setup_image(SUITE)
    environment = tmp_path_factory.mktemp("oldest-stack") / "venv"
    assert str(environment).startswith("/tmp/")
    env, paths = pip_settings()
    install = (f"python3 -m venv {environment} && "
               f"{environment}/bin/pip install -q --disable-pip-version-check {' '.join(OLDEST_STACK)}")
    subprocess.run(["docker", "run", "--rm", "--network", "host",
                    *(arg for key, value in env.items() for arg in ("-e", f"{key}={value}")),
                    *(arg for path in paths for arg in ("-v", f"{path}:{path}:ro")),
                    "-v", f"{environment.parent}:{environment.parent}", image, "bash", "-c", install],
                   check=True, timeout=900)
    return ["docker", "run", "-i", "--rm", "--network", "host", "-v", "/tmp:/tmp", image,
            f"{environment}/bin/python"]


def test_python_3_9_with_sqlalchemy_1_3_loads_and_runs_the_history(oldest_python, tmp_path, pg_server,
                                                                      make_database):
    walked = walk_two_revisions(oldest_python, tmp_path / "p", pg_server, make_database())
    assert walked.facts["python"].startswith("3.9.")
    assert (walked.facts["sqlalchemy"], walked.facts["alembic"]) == ("1.3.24", "1.5.8")
    assert walked.revisions == ["0001", "0002"] and walked.columns_after_each_step == [2, 3]
    assert walked.result == {"started": True, "done": 2, "error": None} and walked.recorded == [("0002",)]
