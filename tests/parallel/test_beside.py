"""Drift's two halves side by side: autogenerate reads the built database in a worker while
the main process builds the models' database. The findings are the ones one process finds;
a worker that dies leaves its half to the main process, which finds them all the same."""

from __future__ import annotations

from pathlib import Path

from projects import ITEMS_MODELS, build_project, items_revision

from checks.parallel import beside

# The models add what the migrations lack: a column autogenerate names, and a server default
# only the catalog comparison sees.
MODELS = ITEMS_MODELS.replace('sa.Column("name", sa.Text, nullable=False))',
                              'sa.Column("name", sa.Text, nullable=False, server_default="x"),\n'
                              '                 sa.Column("size", sa.Integer))') + """
import os

MAIN_PID = os.getpid()  # imported by the build, in the main process
"""

# Alembic's template with an include_object that notes which process compares, and, with
# DIE set, ends any process but the main one the moment it does ("sleep": hangs it instead).
ENV = '''\
import os
import time
from alembic import context
from sqlalchemy import engine_from_config, pool

from app import models

config = context.config
DIE = {die}


def include_object(obj, name, type_, reflected, compare_to):
    with open({log!r}, "a") as log:
        log.write(f"{{os.getpid()}} {{models.MAIN_PID}}\\n")
    if DIE == "sleep" and os.getpid() != models.MAIN_PID:
        time.sleep(600)
    if DIE and os.getpid() != models.MAIN_PID:
        os._exit(3)
    return True


connectable = engine_from_config(config.get_section(config.config_ini_section, {{}}),
                                 prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=models.metadata,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()
'''


def _project(root: Path, die: bool | str = False) -> tuple[Path, Path]:
    log = root / "compared-by.log"
    project = build_project(root, [items_revision()], models=MODELS,
                            files={"migrations/env.py": ENV.format(die=repr(die), log=str(log))})
    return project, log


def _drift(result) -> list[tuple]:
    return [(f["code"], f["revision"], f["object"], f["message"]) for f in result.findings("drift")]


def _processes(log: Path) -> set[str]:
    """'worker' and/or 'main': who called include_object (in a worker: autogenerate only)."""
    lines = [line.split() for line in log.read_text().splitlines()]
    log.unlink()
    return {"main" if pid == main else "worker" for pid, main in lines}


def test_autogenerate_runs_in_a_worker_and_finds_what_one_process_finds(verify, tmp_path):
    project, log = _project(tmp_path / "p")
    beside_ = verify(project, "--stage", "fresh", "--stage", "drift")
    assert "worker" in _processes(log)  # the main process also asks it, narrowing the catalog
    alone = verify(project, "--stage", "fresh", "--stage", "drift", env={beside.SERIAL_ENV: "1"})
    assert _processes(log) == {"main"}

    assert beside_.code == alone.code == 1, beside_.stdout
    found = _drift(beside_)
    assert found == _drift(alone)
    assert {(code, obj) for code, _, obj, _ in found} >= {("drift-autogenerate", "items.size"),
                                                          ("drift-catalog", "items.name")}, found


def test_a_worker_that_dies_leaves_its_half_to_the_main_process(verify, tmp_path):
    project, log = _project(tmp_path / "p", die=True)
    died = verify(project, "--stage", "fresh", "--stage", "drift")
    assert _processes(log) == {"worker", "main"}
    alone = verify(project, "--stage", "fresh", "--stage", "drift", env={beside.SERIAL_ENV: "1"})
    assert _processes(log) == {"main"}
    assert died.code == alone.code == 1, died.stdout
    assert _drift(died) == _drift(alone) != []


def test_a_worker_past_the_run_limit_is_stopped_and_its_half_not_run_again(verify, tmp_path):
    """Running the half again in the main process would overrun the limit a second time."""
    project, log = _project(tmp_path / "p", die="sleep")
    result = verify(project, "--stage", "fresh", "--stage", "drift", "--run-timeout", "10")
    assert result.code == 1, result.stdout
    drift = result.stage("drift")
    assert drift["status"] == "error", drift
    assert [f["code"] for f in drift["findings"]] == ["run-timeout"], drift
    assert "10 s limit" in drift["findings"][0]["message"]
    assert _processes(log) == {"worker"}  # the main process never compared
