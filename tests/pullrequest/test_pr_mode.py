"""Pull-request mode: only the revisions a change adds are walked, round-tripped and linted.

One fixture history: a base of two revisions, the second of which has a downgrade that
leaves its column behind (a defect a full run reports and a pull request on top must not),
and two new revisions, the second with the same defect (which every mode must report).
"""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from projects import (
    APP_SETTINGS,
    APP_SETTINGS_ENV,
    CREATE_ITEMS,
    DROP_ITEMS,
    Rev,
    assert_usage_error,
    build_project,
)

MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False),
                 sa.Column("note", sa.Text), comment="what we sell")
tags = sa.Table("tags", metadata,
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("label", sa.Text), comment="how we group it")
"""


def _with_comment(id_: str, down: str, table: str, column: str, comment: str, file: str) -> Rev:
    """Adds a column and comments its table; the downgrade forgets the comment (a trace that
    does not stop the round trip: the upgrade runs again over it)."""
    return Rev(id_, down, f'op.add_column("{table}", sa.Column("{column}", sa.Text))\n'
                          f'op.execute("COMMENT ON TABLE {table} IS \'{comment}\'")',
               f'op.drop_column("{table}", "{column}")', file=file)


BASE = [Rev("0001", None, CREATE_ITEMS, DROP_ITEMS, file="0001_items.py"),
        _with_comment("0002", "0001", "items", "note", "what we sell", "0002_note.py")]
NEW = [Rev("0003", "0002", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))',
           'op.drop_table("tags")', file="0003_tags.py"),
       _with_comment("0004", "0003", "tags", "label", "how we group it", "0004_label.py")]


def _project(root: Path, revisions=BASE + NEW) -> Path:
    return build_project(root, list(revisions), models=MODELS)


def _revisions(result, stage: str, code: str | None = None) -> set[str | None]:
    return {f["revision"] for f in result.findings(stage, code)}


def _judged(result) -> list[tuple]:
    """Everything a run concluded, without timings and the fresh stage's note on the base."""
    return [(s["name"], s["status"], sorted((f["code"], f["revision"] or "", f["message"])
                                            for f in s["findings"] if not f["code"].startswith(("base-",
                                                                                               "cache-"))))
            for s in result.report["stages"]]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def _git_project(root: Path) -> Path:
    """Base committed on main; the new revisions committed on a branch checked out."""
    project = _project(root, BASE)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "base")
    _git(project, "checkout", "-q", "-b", "feature")
    versions = project / "migrations" / "versions"
    for rev in NEW:
        (versions / rev.filename).write_text(rev.source())
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "new revisions")
    return project


def test_full_run_reports_the_base_defect_and_a_pull_request_does_not(verify, tmp_path):
    project = _project(tmp_path / "project")
    full = verify(project, "--quiet-progress")
    assert full.code == 1, full.stdout
    assert _revisions(full, "roundtrip", "downgrade-leaves-trace") == {"0002", "0004"}
    assert "0002" in _revisions(full, "lint")

    junit = tmp_path / "junit.xml"
    pr = verify(project, "--quiet-progress", "--since", "0002", "--report-junit", str(junit))

    assert pr.code == 1, pr.stdout
    assert _revisions(pr, "roundtrip", "downgrade-leaves-trace") == {"0004"}
    [trace] = pr.findings("roundtrip", "downgrade-leaves-trace")
    assert "tags" in trace["object"] and "comment" in trace["message"], trace
    assert _revisions(pr, "lint") <= {"0003", "0004", None}
    assert "0004" in _revisions(pr, "lint")
    assert pr.report["pull_request"]["new_revisions"] == ["0003", "0004"]
    assert pr.report["pull_request"]["base_revisions"] == 2
    assert [s["status"] for s in pr.report["stages"] if s["name"] in ("fresh", "drift")] == ["pass", "pass"]
    [note] = pr.findings("fresh", "base-one-pass")
    assert "base's 2 of 4 revisions in one pass" in note["message"]
    assert "2 new revision(s) since revision 0002" in pr.stdout
    assert "2 revision(s) linted: those added since revision 0002" in pr.stdout
    cases = {case.get("name") for case in ET.parse(junit).getroot().iter("testcase")}
    assert {"roundtrip[0004]", "lint[0003]"} <= cases and not any("[0002]" in c for c in cases), cases


def test_git_base_selects_what_since_selects(verify, tmp_path):
    project = _git_project(tmp_path / "project")

    by_git = verify(project, "--quiet-progress", "--git-base", "main")
    by_rev = verify(project, "--quiet-progress", "--since", "00")  # a prefix: ambiguous

    assert_usage_error(by_rev, "--since 00")
    by_rev = verify(project, "--quiet-progress", "--since", "0002")
    assert by_git.report["pull_request"]["new_revisions"] == ["0003", "0004"]
    assert by_git.report["pull_request"]["base_point"].startswith("main (merge-base ")
    # --git-base names the release at the merge base, whose statements the rolling stage replays too.
    assert [s[0] for s in _judged(by_git) if s[0] not in [t[0] for t in _judged(by_rev)]] == ["rolling"]
    assert [s for s in _judged(by_git) if s[0] != "rolling"] == _judged(by_rev)
    assert _revisions(by_git, "roundtrip", "downgrade-leaves-trace") == {"0004"}


def test_git_base_counts_an_uncommitted_revision_as_new(verify, tmp_path):
    project = _git_project(tmp_path / "project")
    _git(project, "reset", "-q", "--mixed", "main")  # the new files are now untracked

    result = verify(project, "--quiet-progress", "--git-base", "main", "--stage", "files",
                    "--stage", "fresh")

    assert result.code == 0, result.stdout
    assert result.report["pull_request"]["new_revisions"] == ["0003", "0004"]


def test_an_edited_released_revision_is_named_and_walked_again(verify, tmp_path):
    project = _git_project(tmp_path / "project")
    edited = project / "migrations" / "versions" / "0002_note.py"
    edited.write_text(edited.read_text() + "\n# tweaked after release\n")

    result = verify(project, "--quiet-progress", "--git-base", "main")

    [finding] = result.findings("files", "released-revision-edited")
    assert finding["revision"] == "0002"
    assert finding["file"].endswith("0002_note.py")
    # What stands on the edited revision is new as well: the base stops below it.
    assert result.report["pull_request"]["new_revisions"] == ["0002", "0003", "0004"]
    assert result.report["pull_request"]["edited_released"] == ["0002"]
    assert _revisions(result, "roundtrip", "downgrade-leaves-trace") == {"0002", "0004"}


def test_warm_cache_restores_the_base_and_concludes_the_same(verify, tmp_path):
    project = _project(tmp_path / "project")
    cache = tmp_path / "cache"
    args = ("--quiet-progress", "--since", "0002", "--cache", str(cache))

    cold = verify(project, *args)
    warm = verify(project, *args)

    assert cold.report["pull_request"]["cache"]["trusted_from_cache"] == 0
    assert cold.report["pull_request"]["cache"]["cache_stored"] is True
    [script] = cache.glob("base-*.sql")
    info = warm.report["pull_request"]["cache"]
    assert info["trusted_from_cache"] == 2 and info["total_revisions"] == 4, info
    assert info["cache_warnings"] == []
    assert f"trusted 2 of 4 revisions from the cache (key {info['cache_key'][:16]})" in warm.stdout
    [note] = warm.findings("fresh", "base-from-cache")
    assert "trusted 2 of 4 revisions from the cache" in note["message"]
    assert _judged(warm) == _judged(cold)
    assert warm.code == cold.code == 1

    # The entry is SQL the run sends itself, as one text: no psql command in it, the rows as INSERTs.
    text = script.read_text()
    assert "CREATE TABLE public.items" in text and "INSERT INTO public.alembic_version" in text
    assert not [line for line in text.splitlines() if line.startswith("\\")]


@pytest.mark.parametrize("damage", ["truncated", "unreadable"])
def test_a_damaged_cache_entry_is_ignored_with_a_warning(verify, tmp_path, damage):
    project = _project(tmp_path / "project")
    cache = tmp_path / "cache"
    args = ("--quiet-progress", "--since", "0002", "--cache", str(cache))
    cold = verify(project, *args)
    [dump] = cache.glob("base-*.sql")
    if damage == "truncated":
        dump.write_bytes(dump.read_bytes()[:200])
    else:
        # Its description agrees with it, but the server refuses it.
        import hashlib

        dump.write_bytes(b"INSERT INTO nowhere VALUES (1);")
        sidecar = dump.with_suffix(".json")
        info = json.loads(sidecar.read_text())
        info["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
        sidecar.write_text(json.dumps(info))

    again = verify(project, *args)

    info = again.report["pull_request"]["cache"]
    assert info["trusted_from_cache"] == 0
    [warning] = info["cache_warnings"]
    assert dump.name in warning and "ignored" in warning
    refused = 'does not load (relation "nowhere" does not exist'
    assert ("checksum" in warning) if damage == "truncated" else (refused in warning)
    assert f"warning: {warning}" in again.stdout
    assert [f["code"] for f in again.findings("fresh", "cache-entry-ignored")] == ["cache-entry-ignored"]
    assert _judged(again) == _judged(cold)
    assert info["cache_stored"] is True  # the entry is written anew, and trusted next time
    assert verify(project, *args).report["pull_request"]["cache"]["trusted_from_cache"] == 2


def test_the_cache_keeps_only_the_newest_entries(verify, tmp_path):
    project = _project(tmp_path / "project")
    cache = tmp_path / "cache"
    cache.mkdir()
    for n in range(6):  # entries of older bases, oldest first
        (cache / f"base-{n:032x}.json").write_text("{}")
        (cache / f"base-{n:032x}.sql").write_bytes(b"old")
    # What the format before left (a pg_restore archive whose description is gone) is swept.
    (cache / f"base-{99:032x}.dump").write_bytes(b"PGDMP")

    result = verify(project, "--quiet-progress", "--since", "0002", "--cache", str(cache),
                    "--stage", "fresh")

    assert result.code == 0, result.stdout
    key = result.report["pull_request"]["cache"]["cache_key"]
    kept = sorted(p.name for p in cache.glob("base-*.json"))
    assert len(kept) == 4 and f"base-{key[:32]}.json" in kept, kept
    assert len(list(cache.glob("base-*.sql"))) == 4
    assert not list(cache.glob("base-*.dump"))


@pytest.mark.parametrize(("args", "fragments"), [
    (("--since", "0bad"), ("--since 0bad", "alembic history")),
    (("--git-base", "main"), ("not inside a git repository", "--since")),
    (("--cache", "somewhere"), ("--cache", "--since REV")),
])
def test_bad_pull_request_options_are_one_line(verify, tmp_path, args, fragments):
    result = verify(_project(tmp_path / "project"), *args)

    assert_usage_error(result, *fragments)


def test_an_unknown_git_ref_is_one_line(verify, tmp_path):
    result = verify(_git_project(tmp_path / "project"), "--git-base", "origin/nowhere")

    assert_usage_error(result, "origin/nowhere", "fetch")
    assert "server:" not in result.stdout, result.stdout  # refused before the run began


def test_a_downgrade_floor_inside_the_base_leaves_the_new_revisions_to_the_trip(verify, tmp_path):
    project = build_project(tmp_path / "project", BASE + NEW, models=MODELS,
                            settings='downgrade_floor = "0001"\n')

    result = verify(project, "--quiet-progress", "--since", "0002", "--stage", "fresh",
                    "--stage", "roundtrip")

    assert result.stage("roundtrip")["status"] == "fail", result.stdout
    assert _revisions(result, "roundtrip") == {"0004"}


# A new revision that reads the app's settings when it is imported (as mealie's do), and the
# suite's settings that fill them from the throwaway server.
SETTINGS_AT_IMPORT = '''\
"""Tags, with the app's settings read at import."""
import sqlalchemy as sa
from alembic import op

from app.settings import DATABASE_URI  # noqa: F401 - read at import, as app revisions do

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("tags")
'''


def _settings_project(root: Path, with_settings: bool = True) -> Path:
    return build_project(root, BASE + NEW, models=MODELS, env="app_settings",
                         settings=APP_SETTINGS_ENV if with_settings else None,
                         files={"app/settings.py": APP_SETTINGS,
                                "migrations/versions/0003_tags.py": SETTINGS_AT_IMPORT})


@pytest.mark.parametrize("mode", [("--since", "0002"), ("--report-junit", "{junit}", "--since", "0002")],
                         ids=["since", "with-graph"])
def test_a_revision_reading_settings_at_import_has_them_in_a_pull_request(verify, tmp_path, mode):
    """The revisions are loaded with the settings' env table in place, as in a full run."""
    project = _settings_project(tmp_path / "project")
    result = verify(project, *(arg.format(junit=tmp_path / "junit.xml") for arg in mode))
    assert "Traceback" not in result.stdout + result.stderr
    assert result.code == 1, result.stdout + result.stderr
    assert result.report["pull_request"]["new_revisions"] == ["0003", "0004"]
    assert result.stage("fresh")["status"] == "pass"
    assert _revisions(result, "roundtrip", "downgrade-leaves-trace") == {"0004"}


def test_a_revision_failing_on_import_is_one_line_in_a_pull_request(verify, tmp_path):
    project = _settings_project(tmp_path / "project", with_settings=False)
    line = assert_usage_error(verify(project, "--since", "0002"), "cannot load the revision files",
                              "KeyError", "POSTGRES_USER")
    assert "[tool.alembic-preflight.env]" in line


def test_a_base_that_fails_to_apply_is_not_called_applied(verify, tmp_path):
    broken = Rev("0002", "0001", 'op.execute("SELECT no_such_function()")', file="0002_note.py")
    result = verify(_project(tmp_path / "project", [BASE[0], broken, *NEW]), "--since", "0002")
    assert result.code == 1
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002"
    assert "the base did not apply: revision 0002 failed (see fresh)" in result.stdout
    assert "applied the base's" not in result.stdout
    assert result.report["pull_request"]["cache"]["base_failed"] == "0002"


def test_a_base_whose_migration_creates_an_extension_is_restored_from_the_cache(verify, tmp_path):
    """pg_trgm made by a base revision, an index that needs it (mealie's shape): the cached
    dump restores both, so the warm run trusts it instead of warning and replaying."""
    trgm = ('op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")\n'
            'op.create_index("ix_items_name_trgm", "items", ["name"], postgresql_using="gin", '
            'postgresql_ops={"name": "gin_trgm_ops"})')
    base = [BASE[0], Rev("0002", "0001", trgm, 'op.drop_index("ix_items_name_trgm", table_name="items")',
                         file="0002_trgm.py")]
    models = MODELS + ('sa.Index("ix_items_name_trgm", items.c.name, postgresql_using="gin", '
                       'postgresql_ops={"name": "gin_trgm_ops"})\n')
    project = build_project(tmp_path / "project", [*base, *NEW], models=models.replace(
        'sa.Column("note", sa.Text), comment="what we sell")', 'comment="what we sell")'))
    cache = tmp_path / "cache"
    args = ("--since", "0002", "--cache", str(cache))
    cold = verify(project, *args)
    [script] = cache.glob("base-*.sql")
    text = script.read_text()
    # The extension's own comment is its owner's to set, and left out; the rest stays.
    assert "CREATE EXTENSION IF NOT EXISTS pg_trgm" in text and "COMMENT ON EXTENSION" not in text
    assert "CREATE INDEX ix_items_name_trgm" in text
    warm = verify(project, *args)
    info = warm.report["pull_request"]["cache"]
    assert info["cache_warnings"] == [] and info["trusted_from_cache"] == 2, info
    assert _judged(warm) == _judged(cold)
    assert warm.stage("fresh")["status"] == "pass"


KINDS_REVISION = '''"""Adds a kind whose labels the app defines."""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.kinds import KINDS

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("items", sa.Column("note", sa.Text))
    op.execute("CREATE TYPE kind AS ENUM (%s)" % ", ".join(f"'{label}'" for label in KINDS))
    op.add_column("items", sa.Column("kind", postgresql.ENUM(name="kind", create_type=False)))
    op.execute("COMMENT ON TABLE items IS 'what we sell'")


def downgrade():
    op.execute("COMMENT ON TABLE items IS NULL")
    op.drop_column("items", "kind")
    op.execute("DROP TYPE kind")
    op.drop_column("items", "note")
'''


def test_a_cached_base_is_not_trusted_after_a_module_its_revisions_import_changed(verify, tmp_path):
    """A base revision takes an enum's labels from the app: once the app adds a label, the
    cached base (built with the old labels) is another database, and trusting it would make
    the models look ahead of the migrations."""
    models = MODELS.replace("import sqlalchemy as sa\n",
                            "import sqlalchemy as sa\n\nfrom app.kinds import KINDS\n")
    models = models.replace('sa.Column("note", sa.Text), comment="what we sell")',
                            'sa.Column("note", sa.Text), sa.Column("kind", sa.Enum(*KINDS, name="kind")), '
                            'comment="what we sell")')
    project = build_project(tmp_path / "project", [BASE[0], *NEW], models=models,
                            files={"app/kinds.py": 'KINDS = ("tool", "part")\n',
                                   "migrations/versions/0002_kinds.py": KINDS_REVISION})
    cache = tmp_path / "cache"
    args = ("--quiet-progress", "--since", "0002", "--cache", str(cache))
    cold = verify(project, *args)
    assert verify(project, *args).report["pull_request"]["cache"]["trusted_from_cache"] == 2

    (project / "app" / "kinds.py").write_text('KINDS = ("tool", "part", "kit")\n')
    warm = verify(project, *args)
    uncached = verify(project, "--quiet-progress", "--since", "0002")

    info = warm.report["pull_request"]["cache"]
    assert info["trusted_from_cache"] == 0 and info["cache_stored"] is True, info
    assert info["cache_key"] != cold.report["pull_request"]["cache"]["cache_key"]
    assert warm.stage("drift")["status"] == "pass", warm.stage("drift")
    assert _judged(warm) == _judged(uncached)


def test_a_cached_base_is_not_trusted_after_a_base_revision_file_changed(verify, tmp_path):
    """An edit to a base revision's body (here the table comment it sets) makes another base
    database: a cache keyed without the body would hand the run the old one."""
    project = _project(tmp_path / "project")
    cache = tmp_path / "cache"
    args = ("--quiet-progress", "--since", "0002", "--cache", str(cache),
            "--stage", "fresh", "--stage", "drift")
    cold = verify(project, *args)
    assert verify(project, *args).report["pull_request"]["cache"]["trusted_from_cache"] == 2

    for path in (project / "migrations" / "versions" / "0002_note.py", project / "app" / "models.py"):
        path.write_text(path.read_text().replace("what we sell", "what we stock"))
    warm = verify(project, *args)

    info = warm.report["pull_request"]["cache"]
    assert info["trusted_from_cache"] == 0 and info["cache_stored"] is True, info
    assert info["cache_key"] != cold.report["pull_request"]["cache"]["cache_key"]
    assert warm.stage("drift")["status"] == "pass", warm.stdout
