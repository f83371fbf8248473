"""Everything the suite parses, fed odd bytes: each input is read correctly or refused with
one line that says what to do, never a traceback.

Property-based (hypothesis) over the parsing functions in-process: settings files, the lint
settings, alembic.ini, the lock file and revision files, in odd encodings (latin-1, a BOM,
UTF-16, NUL bytes, invalid UTF-8), unicode and quoted names. Runs are bounded
(max_examples) so the suite stays quick. The CLI runs of the worst cases are in
test_fuzz_cli.py.
"""

from __future__ import annotations

import codecs
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.errors import ConfigError, ProjectError
from checks.lint.settings import LintSettings, parse_lint_settings
from checks.lint.suppress import inline_allows
from checks.lockfile import Entry, read_lock, write_lock
from checks.project.locations import read_ini, script_location
from checks.project.revision_files import parse_revision_file
from checks.project.settings import Settings, load_settings
from checks.project.source_lines import assignment_line, def_line

# database=None: nothing written into the work tree. Local runs draw afresh each time (and so
# find new cases); CI draws the same examples every run, so a red CI is never luck.
BOUNDED = settings(max_examples=60, deadline=None, database=None, derandomize=os.environ.get("CI") == "true",
                   suppress_health_check=[HealthCheck.too_slow])

# How a text file reaches us: as written, with a BOM, from a latin-1 editor, UTF-16, or damaged.
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "nul", "cut"])


def encode(text: str, how: str) -> bytes:
    if how == "nul":
        return text.encode() + b"\0" + text.encode()
    if how == "cut":  # a multi-byte character split, as a truncated copy leaves it
        return text.encode() + "é".encode()[:1] + b"\n"
    return text.encode(how, errors="replace")


def assert_one_line(exc: Exception) -> None:
    message = str(exc)
    assert message and "\n" not in message, repr(message)
    assert "Traceback" not in message


_WORKDIRS: list[Path] = []


@pytest.fixture(autouse=True, scope="module")
def _remove_workdirs():
    """Every folder the examples made goes with the module (hundreds per run otherwise)."""
    yield
    while _WORKDIRS:
        shutil.rmtree(_WORKDIRS.pop(), ignore_errors=True)


def workdir() -> Path:
    # hypothesis runs many examples per test: a fresh folder each (tmp_path is per test).
    made = Path(tempfile.mkdtemp(prefix="fuzz-"))
    _WORKDIRS.append(made)
    return made


# --- TOML values, written as text ----------------------------------------------------------

def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest as is."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else
                      "\\" + c if c in '"\\' else c for c in text)
    return f'"{escaped}"'


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


# Text with what breaks naive readers: quotes, unicode letters, NUL, newlines, surrogate-free.
ODD_TEXT = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
SCALARS = st.one_of(st.booleans(), st.integers(-10, 10), ODD_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(ODD_TEXT, inner, max_size=3)),
                      max_leaves=8)
SETTING_KEYS = st.sampled_from([*Settings.keys(), "tool", "unknown_key"])
SETTINGS_TABLES = st.dictionaries(SETTING_KEYS, VALUES, max_size=4)


def settings_text(table: dict, where: str) -> str:
    body = "".join(f"{toml_string(k)} = {toml_value(v)}\n" for k, v in table.items())
    return (f"[tool.alembic-preflight]\n{body}" if where == "pyproject.toml" else body)


@BOUNDED
@given(SETTINGS_TABLES, st.sampled_from(["pyproject.toml", "alembic-preflight.toml"]), ENCODINGS)
def test_settings_files_load_or_say_why(table, name, how):
    folder = workdir()
    text = settings_text(table, name)
    (folder / name).write_bytes(encode(text, how))
    try:
        loaded = load_settings(folder)
    except ConfigError as exc:
        assert_one_line(exc)
        assert name in str(exc)
        return
    # Accepted: every setting has the type the code that reads it expects.
    for key in ("alembic_ini", "ini_section"):
        assert isinstance(getattr(loaded, key), str) and "\0" not in getattr(loaded, key)
    assert all(isinstance(v, str) for v in loaded.ignore + loaded.sys_path + loaded.extensions)
    assert all(isinstance(k, str) and "=" not in k and isinstance(v, str) for k, v in loaded.env.items())


@BOUNDED
@given(VALUES, st.sampled_from(["tool = {}\n", "[tool]\nalembic-preflight = {}\n", "[tool]\nx = {}\n"]))
def test_a_pyproject_whose_tool_table_is_odd_loads_or_says_why(value, shape):
    folder = workdir()
    (folder / "pyproject.toml").write_text(shape.format(toml_value(value)))
    try:
        load_settings(folder)
    except ConfigError as exc:
        assert_one_line(exc)
        assert "pyproject.toml" in str(exc)


@BOUNDED
@given(st.binary(max_size=300), st.sampled_from(["pyproject.toml", "alembic-preflight.toml"]))
def test_settings_files_of_arbitrary_bytes_load_or_say_why(data, name):
    folder = workdir()
    (folder / name).write_bytes(data)
    try:
        load_settings(folder)
    except ConfigError as exc:
        assert_one_line(exc)


NAMES = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), min_size=1,
                max_size=20)


@BOUNDED
@given(st.lists(NAMES, max_size=4), NAMES.filter(str.strip), st.dictionaries(
    NAMES.filter(lambda n: "=" not in n), NAMES, max_size=2), st.sampled_from(["utf-8", "utf-8-sig"]))
def test_a_bom_unicode_and_quoted_names_read_as_written(ignore, ini, env, how):
    folder = workdir()
    table = {"ignore": ignore, "alembic_ini": ini, "env": env}
    own = "alembic-preflight.toml"
    (folder / own).write_bytes(settings_text(table, own).encode(how))
    loaded = load_settings(folder)
    assert (loaded.ignore, loaded.alembic_ini, loaded.env) == (ignore, ini, env)


LINT_KEYS = st.sampled_from(["strict", "squawk", "severity", "allow", "other"])


@BOUNDED
@given(st.dictionaries(LINT_KEYS, VALUES, max_size=4),
       st.lists(st.dictionaries(st.sampled_from(["rule", "revision", "object", "reason", "x"]),
                                st.one_of(st.sampled_from(["drop-table", "drop-column", "nope"]), VALUES),
                                max_size=4), max_size=3))
def test_lint_settings_parse_or_say_why(data, allow):
    if allow:
        data = {**data, "allow": allow}
    try:
        parsed = parse_lint_settings(data, "pyproject.toml")
    except ConfigError as exc:
        assert_one_line(exc)
        return
    assert isinstance(parsed, LintSettings)
    for entry in parsed.allow:
        assert isinstance(entry.rule, str) and entry.reason
        assert entry.revision is None or isinstance(entry.revision, str)
        assert entry.object is None or isinstance(entry.object, str)
        entry.covers("drop-table", "0001", None)  # usable as the stage uses it


# --- alembic.ini ------------------------------------------------------------------------------

INI_VALUES = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=30)


@BOUNDED
@given(INI_VALUES, st.dictionaries(st.from_regex(r"[a-z_.]{1,12}", fullmatch=True), INI_VALUES, max_size=3),
       ENCODINGS)
def test_alembic_ini_reads_or_says_why(location, extra, how):
    folder = workdir()
    lines = ["[alembic]", f"script_location = {location}", *(f"{k} = {v}" for k, v in extra.items())]
    (folder / "alembic.ini").write_bytes(encode("\n".join(lines) + "\n", how))
    try:
        cfg = read_ini(folder / "alembic.ini", folder)
        where = script_location(cfg, folder, folder / "alembic.ini", Settings())
    except (ConfigError, ProjectError) as exc:
        assert_one_line(exc)
        assert "alembic.ini" in str(exc)
        return
    assert how in ("utf-8", "latin-1", "utf-16") or "\0" not in where
    assert isinstance(where, str)


@BOUNDED
@given(st.binary(max_size=300))
def test_alembic_ini_of_arbitrary_bytes_reads_or_says_why(data):
    folder = workdir()
    (folder / "alembic.ini").write_bytes(b"[alembic]\n" + data)
    try:
        read_ini(folder / "alembic.ini", folder)
    except (ConfigError, ProjectError) as exc:
        assert_one_line(exc)


def test_an_alembic_ini_with_a_bom_is_named_as_such(tmp_path):
    (tmp_path / "alembic.ini").write_bytes(codecs.BOM_UTF8 + b"[alembic]\nscript_location = m\n")
    try:
        read_ini(tmp_path / "alembic.ini", tmp_path)
    except ProjectError as exc:
        assert "byte-order mark" in str(exc) and "without BOM" in str(exc)
    else:
        raise AssertionError("alembic cannot read an ini with a BOM; neither may the suite pretend to")


# --- the lock file -------------------------------------------------------------------------------

REVISION_IDS = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=16)
FILE_NAMES = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=24)


@BOUNDED
@given(st.lists(st.tuples(REVISION_IDS, FILE_NAMES), max_size=5, unique_by=lambda e: e[0]))
def test_the_lock_file_reads_back_what_was_written_or_refuses_the_id(pairs):
    path = workdir() / "revisions.lock"
    entries = [Entry(rev, "sha256:" + "0" * 64, name) for rev, name in pairs]
    try:
        write_lock(path, entries)
    except ConfigError as exc:
        assert_one_line(exc)
        assert "cannot be locked" in str(exc)
        return
    read = read_lock(path)
    assert list(read) == [e.revision for e in entries]
    assert [e.checksum for e in read.values()] == [e.checksum for e in entries]


@BOUNDED
@given(st.binary(max_size=300), st.booleans())
def test_a_lock_file_of_arbitrary_bytes_reads_or_says_why(data, bom):
    path = workdir() / "revisions.lock"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + data)
    try:
        entries = read_lock(path)
    except ConfigError as exc:
        assert_one_line(exc)
        assert "revisions.lock" in str(exc)
        return
    assert all(e.checksum.startswith("sha256:") for e in entries.values())


def test_a_lock_file_with_a_bom_reads_as_without(tmp_path):
    path = tmp_path / "revisions.lock"
    write_lock(path, [Entry("0001", "sha256:ab", "0001_x.py")])
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    assert list(read_lock(path)) == ["0001"]


# --- revision files ----------------------------------------------------------------------------------

# Python decodes its source by BOM or coding cookie, else UTF-8; Alembic imports files so.
LATIN1 = st.characters(codec="latin-1", blacklist_categories=["Cc"])
SOURCE_ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1-cookie", "cp1252-cookie"])


def revision_source(revision: str, down: str | None, how: str) -> bytes:
    text = (f"revision = {revision!r}\ndown_revision = {down!r}\n\n\n"
            "def upgrade():\n    pass  # verify: allow drop-table -- caf\u00e9 reasons\n\n\n"
            "def downgrade():\n    pass\n")
    if how.endswith("-cookie"):
        encoding = how.removesuffix("-cookie")
        return f"# -*- coding: {encoding} -*-\n{text}".encode(encoding)
    return text.encode(how)


@BOUNDED
@given(st.text(LATIN1, min_size=1, max_size=70), st.one_of(st.none(), st.text(LATIN1, max_size=10)),
       SOURCE_ENCODINGS)
def test_revision_files_read_as_python_reads_them(revision, down, how):
    if how == "cp1252-cookie":
        revision = revision.encode("latin-1").decode("cp1252", errors="replace").replace("\ufffd", "x")
    path = workdir() / "0001_rev.py"
    path.write_bytes(revision_source(revision, down, how))
    info = parse_revision_file(path)
    assert info.syntax_error is None, info.syntax_error
    assert (info.revision, info.down_revisions) == (revision, () if down is None else (down,))
    assert info.functions == {"upgrade", "downgrade"}
    assert def_line(str(path), "upgrade") is not None and assignment_line(str(path), "revision") is not None
    allows, problems = inline_allows(str(path), revision)
    assert problems == [] and [a.reason for a in allows] == ["caf\u00e9 reasons"]


@BOUNDED
@given(st.binary(max_size=400), st.sampled_from([b"", codecs.BOM_UTF8, b"# coding: latin-1\n", b"\0"]))
def test_revision_files_of_arbitrary_bytes_never_raise(data, prefix):
    path = workdir() / "0001_rev.py"
    path.write_bytes(prefix + b"revision = '0001'\n" + data)
    info = parse_revision_file(path)
    assert info.revision == "0001" or info.syntax_error or "revision" in data.decode(errors="ignore")
    if info.syntax_error:
        assert "\n" not in info.syntax_error.strip()
    def_line(str(path), "upgrade")
    assignment_line(str(path), "down_revision")
    inline_allows(str(path), "0001")


def test_invalid_utf8_without_a_cookie_is_unparsable_as_python_says(tmp_path):
    path = tmp_path / "0001_rev.py"
    path.write_bytes(b"revision = 'caf\xe9'\n")
    info = parse_revision_file(path)
    assert info.revision is None and info.syntax_error.startswith("SyntaxError")


# --- the SQL a revision emits, as the lint stage reads it ----------------------------------------

SQL_PIECES = st.sampled_from([
    "SELECT 1;", "BEGIN;", "COMMIT;", "SET lock_timeout = '2s';", 'DROP TABLE "tä""ble";',
    'ALTER TABLE "größe" DROP COLUMN "ü";', "CREATE INDEX ix ON t (c);",
    "ALTER TABLE t ADD COLUMN c int NOT NULL;", "INSERT INTO t VALUES ('caf\u00e9');",
    "ALTER TABLE t ALTER COLUMN c TYPE bigint;", "$$", "'", "--", "\u65e5",
])


@BOUNDED
@given(st.lists(st.one_of(SQL_PIECES, ODD_TEXT), max_size=8))
def test_revision_sql_is_read_or_refused_as_unparsable(pieces):
    from pglast.parser import ParseError

    from checks.lint.sql import SqlReader

    reader = SqlReader("alembic_version")
    try:
        reader.read("0001", " ".join(pieces))
    except ParseError:
        return
    assert all(hit.code for hit in reader.hits)
