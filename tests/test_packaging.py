"""The package as users get it: `python -m build` gives an sdist and a wheel that twine
accepts; the wheel holds the suite's two packages with the files they read at run time
(image scripts, compose files) and nothing of the tests, fixtures, example or docs; and both
a wheel installed into a fresh virtual environment and a `pipx install` of the checkout run
`--version`, `--help` and `verify` on the bundled example, away from the checkout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from cli_support import EXAMPLE, ROOT, needs_example

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# What the packages read from disk besides their modules.
DATA_FILES = {"harness/images/entrypoint.sh", "harness/images/provision.sh", "harness/compose.test.yml",
              "harness/compose.dev.yml"}


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment minus PYTHONPATH: the installed copy must not find this checkout."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


def _tracked(*paths: str) -> list[str]:
    """Files of this work tree (tracked or new, not ignored), as a user's checkout has them."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *paths],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    return [name for name in listed if name and (ROOT / name).is_file()]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the work tree, so building writes nothing into it."""
    copy = tmp_path_factory.mktemp("checkout")
    for name in _tracked():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)  # follows symlinks, as a git checkout's files are read
    return copy


@pytest.fixture(scope="module")
def dist(checkout, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(checkout)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _wheel(dist: Path) -> Path:
    [wheel] = dist.glob("*.whl")
    return wheel


def _run(binary: Path, *args: str, url: str | None = None, cwd: Path) -> subprocess.CompletedProcess:
    argv = [str(binary), *args, *(["--url", url] if url else [])]
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=600, env=_clean_env())


def _works(binary: Path, url: str, cwd: Path) -> None:
    version = _run(binary, "--version", cwd=cwd)
    assert version.returncode == 0 and version.stdout.strip() == f"alembic-preflight {VERSION}", version
    help_text = _run(binary, "--help", cwd=cwd)
    assert help_text.returncode == 0 and "verify" in help_text.stdout, help_text
    report = cwd / "report.json"
    proc = _run(binary, "verify", "--project", str(EXAMPLE), "--quiet-progress", "--report-json", str(report),
                url=url, cwd=cwd)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for stage in ("files", "heads", "fresh", "drift", "roundtrip", "lint"):
        assert re.search(rf"✓ {stage}\b", proc.stdout), proc.stdout
    assert f'"alembic_preflight": "{VERSION}"' in report.read_text()


def test_the_sdist_and_the_wheel_pass_twine_check(dist):
    assert len(list(dist.glob("*.tar.gz"))) == 1
    proc = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_wheel_carries_what_it_needs_and_nothing_else(dist):
    names = set(zipfile.ZipFile(_wheel(dist)).namelist())
    tops = {name.split("/")[0] for name in names}
    assert tops == {"checks", "harness", "projectside", f"alembic_preflight-{VERSION}.dist-info"}, tops
    modules = {name for name in _tracked("checks", "harness", "projectside") if name.endswith(".py")}
    assert modules - names == set(), "modules left out of the wheel"
    assert DATA_FILES - names == set(), "files the packages read at run time left out"
    extra = {n for n in names - modules - DATA_FILES if not n.startswith("alembic_preflight-")}
    assert extra == set(), f"files that have no business in the wheel: {sorted(extra)}"
    assert not any(re.search(r"(^|/)(tests?|fixtures|example|docs)/", name) for name in names)


@needs_example
def test_the_wheel_runs_verify_in_a_fresh_venv(dist, pg_server, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", str(_wheel(dist))],
                          capture_output=True, text=True, timeout=900, env=_clean_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    probe = "import checks, harness.compose_cli as c; print(checks.__file__); print(c.COMPOSE_FILE)"
    where = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                           check=True, env=_clean_env()).stdout.split()
    assert all("site-packages" in path for path in where), where  # not the checkout
    assert Path(where[1]).is_file(), "the compose backend would find no compose file"
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    _works(env_dir / "bin" / "alembic-preflight", url, tmp_path)


@needs_example
def test_pipx_install_runs_verify(checkout, pg_server, tmp_path):
    env = _clean_env(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"),
                     PIPX_MAN_DIR=str(tmp_path / "man"))
    proc = subprocess.run([sys.executable, "-m", "pipx", "install", str(checkout)], capture_output=True,
                          text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    binary = tmp_path / "bin" / "alembic-preflight"
    assert binary.resolve().is_relative_to(tmp_path / "pipx"), "not pipx's own environment"
    _works(binary, url, tmp_path)
