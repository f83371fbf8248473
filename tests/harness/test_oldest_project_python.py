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
from projects import Rev, build_project, items_revision
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


def test_verify_runs_every_stage_with_the_project_in_python_3_9(oldest_python, verify, tmp_path):
    """`--python` names a wrapper that runs bullseye's Python in its container, as a project
    whose interpreter lives elsewhere (a container, a remote shell) would be pointed at."""
    wrapper = tmp_path / "python3.9"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join(oldest_python[:3]) + " -e PYTHONDONTWRITEBYTECODE=1 "
                       + " ".join(oldest_python[3:]) + ' "$@"\n')
    wrapper.chmod(0o755)
    project = build_project(tmp_path / "project", [items_revision(), Rev(
        "0002", "0001", 'op.add_column("items", sa.Column("price", sa.Integer))', "pass")])

    result = verify(project, "--python", str(wrapper))

    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert f"python: {wrapper} (--python): Python 3.9." in result.stdout, result.stdout
    assert "SQLAlchemy 1.3.24, Alembic 1.5.8" in result.stdout
    for stage in ("files", "heads", "fresh", "merge-order", "lint"):
        assert result.stage(stage)["status"] in ("pass", "warn"), result.stage(stage)
    # The downgrade that leaves the column is found there, as it is found here.
    [trace] = result.findings("roundtrip", "downgrade-leaves-trace")
    assert trace["revision"] == "0002" and trace["object"] == "items.price"
    [drift] = result.findings("drift", "drift-autogenerate")
    assert drift["object"] == "items.price"
    assert result.code == 1
