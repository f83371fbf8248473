"""The server wheels: which of the `servers` extra still need installing, and the unpacked tree."""

from __future__ import annotations

import stat

from prereqs import skip_or_fail

from harness import server_wheels


def test_only_the_servers_extra_that_is_not_installed_is_missing():
    declared = [
        "alembic>=1.7",
        'pytest>=8; extra == "test"',
        'psycopg[binary]>=3.1; extra == "servers"',  # installed here: the suite needs it
        "alembic-verify-no-such-wheel==14.23.0; python_version >= '3.12' and extra == 'servers'",
    ]
    assert server_wheels.missing(declared) == ["alembic-verify-no-such-wheel==14.23.0"]


def test_the_servers_extra_pins_a_wheel_for_every_major_debian_lacks_here():
    pyproject = (server_wheels.Path(__file__).parents[2] / "pyproject.toml").read_text()
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
