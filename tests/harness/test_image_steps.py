"""Image build steps are hermetic: the host's environment (TMPDIR above all) never reaches
the chroot, and a failed step names its first error, not only its last lines.

A full image build takes minutes; these run the same step functions the build runs, on
a root made of the host's own shell and its libraries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from prereqs import skip_or_fail

from harness.errors import HarnessError
from harness.images.steps import DEFAULT_PATH, build_environment, run_in_chroot, run_step

WRITE_IN_TMPDIR = 'echo probe > "${TMPDIR:-/tmp}/probe" && echo "wrote; TMPDIR=${TMPDIR-unset} LANG=$LANG"'


@pytest.fixture
def shell_root(tmp_path) -> Path:
    """A root holding /bin/sh and the libraries it loads: enough for chroot to run a script."""
    if os.geteuid() != 0:
        skip_or_fail("chroot needs root (as the image build does)")
    root = tmp_path / "root"
    shell = Path(shutil.which("dash") or "/bin/sh").resolve()
    libraries = [word for line in subprocess.run(["ldd", str(shell)], capture_output=True, text=True).stdout
                 .splitlines() for word in line.split() if word.startswith("/")]
    for source, place in [(shell, "bin/sh"), *((Path(lib), lib.lstrip("/")) for lib in libraries)]:
        (root / place).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / place)  # follows links: the chroot sees plain files
    (root / "tmp").mkdir()
    return root


def test_a_chroot_step_runs_with_tmpdir_set_on_the_host(shell_root, tmp_path, monkeypatch):
    host_only = tmp_path / "host-tmp"
    host_only.mkdir()
    monkeypatch.setenv("TMPDIR", str(host_only))
    monkeypatch.setenv("LANG", "xx_XX.ISO-8859-1")
    # The fault being fixed: with the host's environment, the chroot looks for the host's TMPDIR.
    inherited = subprocess.run(["chroot", str(shell_root), "/bin/sh", "-c", WRITE_IN_TMPDIR],
                               capture_output=True, text=True)
    assert inherited.returncode != 0, inherited.stdout

    said = run_in_chroot(shell_root, ["/bin/sh", "-c", WRITE_IN_TMPDIR], "write a temp file")

    assert said.strip() == "wrote; TMPDIR=unset LANG=C.UTF-8"
    assert (shell_root / "tmp/probe").read_text() == "probe\n"


def test_the_build_environment_keeps_only_what_a_build_needs_and_proxies_that_are_set():
    host = {"TMPDIR": "/tmp/private", "HOME": "/home/me", "PATH": "/opt/odd/bin", "LC_ALL": "de_DE.UTF-8",
            "PYTHONPATH": "/src", "http_proxy": "http://proxy.internal:3128", "no_proxy": "",
            "VERIFY_DEBIAN_MIRROR": "http://mirror.internal/debian"}
    assert build_environment(host) == {
        "PATH": DEFAULT_PATH, "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
        "http_proxy": "http://proxy.internal:3128",
    }
    assert "https_proxy" not in build_environment({})


def test_a_failed_step_shows_its_first_error_and_its_last_lines():
    script = (
        "echo 'Get:1 http://mirror.invalid/debian bookworm/main amd64 libgpg-error0 amd64 1.46-1 [70 kB]';"
        "echo 'Setting up libgpg-error0:amd64 (1.46-1) ...';"
        "echo 'E: Unable to locate package postgresql-99';"
        "for i in $(seq 1 40); do echo \"consequence $i\"; done; exit 100"
    )
    with pytest.raises(HarnessError) as raised:
        run_step(["sh", "-c", script], "install postgresql-99")

    message = str(raised.value)
    assert message.startswith("could not install postgresql-99: `sh -c")
    assert "exited with 100" in message
    assert "\n  first error: E: Unable to locate package postgresql-99\n" in message
    assert "consequence 40" in message and "consequence 15\n" not in message  # the last 25 lines
