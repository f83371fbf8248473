"""The worst of the odd inputs, through the command as a user runs it: exit code, one line
that says what to do (or the right finding), never a traceback. The in-process properties
are in test_fuzz_inputs.py."""

from __future__ import annotations

import codecs

import pytest
from projects import Rev, assert_usage_error, build_project, items_revision

HUGE = 20 * 1024 * 1024  # 20 MB


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.fixture
def project(tmp_path):
    return build_project(tmp_path / "project", [items_revision()])


BAD_TEXT = {  # what the file holds, what the one line must say
    "latin-1": ("ignore = [\"caf\xe9\"]\n".encode("latin-1"), "line 1 is not UTF-8 (byte 0xe9)"),
    "UTF-16": ("ignore = []\n".encode("utf-16"), "is not UTF-8"),
    "NUL byte": (b"ignore = []\n\0\n", "line 2 contains a NUL byte"),
    "20 MB of junk": (b"ignore = [\n" + b"\xff" * HUGE, "line 2 is not UTF-8"),
}


@pytest.mark.parametrize("case", BAD_TEXT)
def test_settings_file_that_is_not_utf8_text(verify, project, case):
    data, says = BAD_TEXT[case]
    (project / "alembic-preflight.toml").write_bytes(data)
    assert_usage_error(verify(project), "alembic-preflight.toml", says, "save the file as UTF-8"
                       if "UTF-8" in says else "remove it")


def test_settings_with_a_bom_and_unicode_names_are_read(verify, project):
    (project / "alembic-preflight.toml").write_bytes(
        codecs.BOM_UTF8
        + 'critical_tables = ["items"]\nignore = ["tabelle_größe", "\\"quoted\\".x"]\n'.encode())
    result = verify(project, "--stage", "fresh")
    assert result.code == 0, result.stdout + result.stderr


def test_a_20mb_settings_file_is_read(verify, project):
    (project / "alembic-preflight.toml").write_text("# " + "x" * HUGE + "\ncritical_tables = [\"items\"]\n")
    result = verify(project, "--stage", "fresh")
    assert result.code == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("data", "says"), [
    (codecs.BOM_UTF8, "byte-order mark"),
    (b"\0", "contains a NUL byte"),
    (b"# caf\xe9\n", "is not UTF-8"),
], ids=["BOM", "NUL", "latin-1"])
def test_alembic_ini_that_alembic_cannot_read(verify, project, data, says):
    ini = project / "alembic.ini"
    ini.write_bytes(data + ini.read_bytes())
    assert_usage_error(verify(project), "alembic.ini", says)


def test_a_20mb_alembic_ini_is_read(verify, project):
    ini = project / "alembic.ini"
    padding = "".join(f"k{i} = {'v' * 10_000}\n" for i in range(HUGE // 10_000))
    ini.write_text(ini.read_text() + "\n[padding]\n" + padding)
    result = verify(project, "--stage", "files")
    assert result.code == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("data", "says"), [
    (b"0001 sha256:00 caf\xe9.py\n", "line 1 is not UTF-8"),
    (b"\xff" * HUGE, "line 1 is not UTF-8"),
    (b"0001 sha256:00\n", "line 1 is not `REVISION CHECKSUM FILE`"),
], ids=["latin-1", "20 MB of junk", "no file column"])
def test_a_lock_file_that_cannot_be_read(verify, project, data, says):
    (project / "migrations" / "revisions.lock").write_bytes(data)
    result = verify(project, "--stage", "files")
    no_traceback(result)
    assert result.code in (1, 2), result.stdout + result.stderr
    said = result.stderr if result.code == 2 else str(result.report)
    assert says in said and "python -m checks lock" in said, said


def revision_bytes(encoding: str) -> bytes:
    create = 'op.create_table("caf\xe9", sa.Column("id", sa.Integer, primary_key=True))'
    rev = Rev("caf\xe9_0001", None, create, 'op.drop_table("caf\xe9")')
    text = rev.source()
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + text.encode()
    return f"# -*- coding: {encoding} -*-\n{text}".encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "latin-1"])
def test_revision_files_python_can_import_pass_the_files_stage(verify, tmp_path, encoding):
    models = ('import sqlalchemy as sa\nmetadata = sa.MetaData()\n'
              'sa.Table("caf\\xe9", metadata, sa.Column("id", sa.Integer, primary_key=True))\n')
    project = build_project(tmp_path / "project", [], models=models)
    (project / "migrations" / "versions" / "0001_cafe.py").write_bytes(revision_bytes(encoding))
    result = verify(project, "--stage", "files", "--stage", "fresh", "--stage", "drift")
    no_traceback(result)
    assert result.code == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("data", "says"), [
    (b"revision = 'caf\xe9'\n", "SyntaxError"),
    (b"revision = '0002'\n\0\n", "null bytes"),
], ids=["invalid UTF-8", "NUL byte"])
def test_a_revision_file_python_cannot_read_is_named(verify, project, data, says):
    (project / "migrations" / "versions" / "0002_broken.py").write_bytes(data)
    result = verify(project, "--stage", "files")
    no_traceback(result)
    assert result.code == 1, result.stdout + result.stderr
    [finding] = result.findings("files", "unparsable-revision")
    assert "0002_broken.py" in finding["message"] and says in finding["message"]
    assert "\n" not in finding["message"]


def test_a_20mb_revision_file_is_read(verify, project):
    body = 'op.execute("SELECT 1")\n' + "# " + "x" * HUGE + "\n"
    (project / "migrations" / "versions" / "0002_huge.py").write_text(Rev("0002", "0001", body).source())
    result = verify(project, "--stage", "files", "--stage", "heads")
    no_traceback(result)
    assert result.code == 0, result.stdout + result.stderr
