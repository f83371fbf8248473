"""The README's set-up works on a machine that has only its distribution's python3, and
installs every command the suite's skip messages and error hints tell a user to run.

The set-up block (the README's ```sh block after the `<!-- setup:` marker) runs as written
in a fresh container of Debian bookworm with python3 and python3-venv from Debian's
packages (tests/harness/setup_image.py builds it once, a minute or two, then reuses it),
on a copy of this work tree. Then the commands the hints name must work there.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
from cli_support import ROOT
from prereqs import skip_or_fail
from setup_image import pip_settings, setup_image

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MARKER = "<!-- setup:"
# Where the suite tells people what to run: skip messages and error hints.
HINT_SOURCES = ["checks", "harness", "noxfile.py", "tasks.py", "tests"]
_INVOKE = re.compile(r"`(?:sudo [^`]*?)?invoke ([a-z][a-z-]+)")
_NOX = re.compile(r"`nox -s ([a-z_]+)")


def setup_block() -> str:
    readme = (ROOT / "README.md").read_text()
    assert MARKER in readme, "README.md lost its set-up marker"
    after = readme[readme.index(MARKER):]
    found = re.search(r"^```sh\n(.*?)^```", after, re.S | re.M)
    assert found, f"no ```sh block after {MARKER}"
    return found.group(1)


def hinted(pattern: re.Pattern) -> set[str]:
    """Every task or session a message in the code tells the user to run."""
    names = set()
    for source in HINT_SOURCES:
        paths = [ROOT / source] if source.endswith(".py") else (ROOT / source).rglob("*.py")
        for path in paths:
            if "fixtures" not in path.parts:
                names |= set(pattern.findall(path.read_text()))
    return names


def work_tree_tar() -> bytes:
    """The files of this work tree (tracked or new, not ignored), as the user's checkout has them."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in filter(None, listed):
            if (ROOT / name).is_file():
                tar.add(ROOT / name, arcname=name, recursive=False)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def image(docker_engine):
    if os.geteuid() != 0:
        skip_or_fail("building the bookworm image needs root (debootstrap, chroot)")
    if not Path("/usr/sbin/debootstrap").exists():
        skip_or_fail("debootstrap is not installed (apt-get install debootstrap; .ci/run does)")
    return setup_image()


def test_the_readme_setup_installs_what_every_hint_names(image):
    env, paths = pip_settings()
    script = "\n".join([
        "set -euo pipefail",
        "mkdir /src && cd /src && tar -x",
        setup_block(),
        "echo '--- alembic-preflight'; alembic-preflight --help",
        "echo '--- checks'; python -m checks verify --help >/dev/null",
        "echo '--- nox'; nox -l",
        "echo '--- invoke'; invoke --list",
        "echo '--- build-images'; invoke build-images --help",
        "echo '--- pip'; pip --version",
    ])
    command = ["docker", "run", "--rm", "-i", "--network", "host",
               *(arg for key, value in env.items() for arg in ("-e", f"{key}={value}")),
               *(arg for path in paths for arg in ("-v", f"{path}:{path}:ro")),
               image, "bash", "-c", script]
    proc = subprocess.run(command, input=work_tree_tar(), capture_output=True, timeout=1200)
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-4000:]}\n{err[-4000:]}"
    sections = dict(part.split("\n", 1) for part in out.split("--- ")[1:])
    assert "verify" in sections["alembic-preflight"]
    sessions = set(re.findall(r"^[*-] (\w+)", sections["nox"], re.M))
    tasks = set(re.findall(r"^\s+([a-z][a-z-]+)", sections["invoke"], re.M))
    assert {"verify", "tests", "tests_compat"} <= sessions, sections["nox"]
    assert hinted(_NOX) <= sessions, f"hints name nox sessions missing here: {hinted(_NOX) - sessions}"
    assert hinted(_INVOKE) and hinted(_INVOKE) <= tasks, \
        f"hints name invoke tasks missing here: {hinted(_INVOKE) - tasks}"
    assert "--major" in sections["build-images"]
