"""lint grounded in what the fresh build measured: in one verify that runs both, each lint
claim of a lock, a rewrite or a full scan is checked against the same revision's
measurement on the same server; the measurement wins, and what it found that no rule
foresaw is said so.
"""

from __future__ import annotations

import pytest
from cli_support import run_cli
from projects import Rev, build_project, per_migration_env
from test_deploy_risk import CREATE, MODELS, _history

FACTS = {
    "0002": 'op.alter_column("items", "n", type_=sa.BigInteger)',  # claimed rewrite, rewritten
    "0003": 'op.alter_column("items", "name", type_=sa.String(200))',  # claimed rewrite, none
    "0004": 'op.execute("CLUSTER items USING items_pkey")',  # rewritten; no rule knows CLUSTER
    "0005": 'op.alter_column("items", "n", nullable=False)',  # claimed scan, scanned
    "0006": 'op.create_index("ix_items_name", "items", ["name"])',  # named by its index
    "0007": 'op.execute("ALTER TABLE items ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID")',
    "0008": 'op.execute("ALTER TABLE items VALIDATE CONSTRAINT n_positive")',  # no lock queues writes
}


@pytest.fixture(scope="module")
def grounded(pg_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("grounded")
    project = build_project(root / "project", _history(FACTS), models=MODELS,
                            files={"migrations/env.py": per_migration_env("sync_template")})
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    result = run_cli("verify", "--project", str(project), "--stage", "fresh", "--stage", "lint",
                     url=url, report=root / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    return result, pg_server.major


def _lint(result, revision: str, code: str) -> dict:
    [found] = [f for f in result.findings("lint", code) if f["revision"] == revision]
    return found


def test_a_claimed_rewrite_the_build_measured_is_confirmed(grounded):
    result, _ = grounded
    found = _lint(result, "0002", "alter-column-type")
    assert found["severity"] == "warning" and found["object"] == "items.n"
    assert found["message"].endswith("; measured: ACCESS EXCLUSIVE on public.items, table rewritten")


def test_a_claimed_rewrite_that_did_not_happen_is_a_note_saying_what_was_measured(grounded):
    result, major = grounded
    found = _lint(result, "0003", "alter-column-type")
    assert found["severity"] == "info"
    assert f"; measured: no rewrite on PostgreSQL {major}." in found["message"]
    assert "(ACCESS EXCLUSIVE on public.items), so not reported as a problem on this server" \
        in found["message"]
    # The lock it takes is still what it is: the rule on its lock_timeout stands, confirmed.
    timeout = _lint(result, "0003", "missing-lock-timeout")
    assert timeout["severity"] == "warning"
    assert "measured: ACCESS EXCLUSIVE on public.items" in timeout["message"]


def test_a_claimed_scan_the_build_measured_is_confirmed(grounded):
    result, _ = grounded
    found = _lint(result, "0005", "set-not-null")
    assert found["severity"] == "warning"
    assert "; measured: ACCESS EXCLUSIVE on public.items, every row read" in found["message"]


def test_an_index_claim_is_grounded_on_the_indexs_table(grounded):
    result, _ = grounded
    found = _lint(result, "0006", "create-index-not-concurrent")
    assert found["severity"] == "warning" and found["object"] == "ix_items_name"
    assert found["message"].endswith("; measured: SHARE on public.items, every row read")


def test_a_claimed_lock_that_lets_writes_go_on_is_a_note(grounded):
    result, major = grounded
    found = _lint(result, "0008", "missing-lock-timeout")
    assert found["severity"] == "info"
    assert (f"; measured: no lock that blocks writes on PostgreSQL {major}." in found["message"]
            and "(SHARE UPDATE EXCLUSIVE on public.items, every row read)" in found["message"])
    # Adding it NOT VALID still takes ACCESS EXCLUSIVE, briefly: the claim stands.
    assert _lint(result, "0007", "missing-lock-timeout")["severity"] == "warning"


def test_a_rewrite_no_rule_predicted_is_said_so(grounded):
    result, _ = grounded
    [fresh] = [f for f in result.findings("fresh") if f["revision"] == "0004"]
    assert (fresh["code"], fresh["object"]) == ("deploy-rewrite", "public.items")
    [found] = [f for f in result.findings("lint", "measured-unpredicted") if f["revision"] == "0004"]
    assert (found["severity"], found["object"]) == ("info", "public.items")
    assert found["message"] == ("revision 0004: measured ACCESS EXCLUSIVE on public.items, table rewritten "
                                "(the fresh stage's deploy-rewrite); no static rule predicted this")
    assert found["file"].endswith(".py") and found["line"]
    # Revisions whose measured warnings a rule foresaw get no such note.
    assert {f["revision"] for f in result.findings("lint", "measured-unpredicted")} == {"0004"}


def test_lint_alone_is_not_grounded(verify, tmp_path):
    revisions = [Rev("0001", None, CREATE), Rev("0003", "0001", FACTS["0003"])]
    project = build_project(tmp_path / "project", revisions, models=MODELS)
    result = verify(project, "--stage", "lint")
    assert result.code == 0, result.stdout + result.stderr
    found = _lint(result, "0003", "alter-column-type")
    assert found["severity"] == "warning" and "measured" not in found["message"]


def test_a_released_revision_gets_no_note_from_lint(verify, tmp_path):
    # 0004 (the CLUSTER) is released: lint does not read it, so it does not speak of it; the
    # fresh stage still warns.
    facts = {revision: FACTS[revision] for revision in ("0002", "0004")}
    project = build_project(tmp_path / "project", _history(facts), models=MODELS,
                            files={"migrations/env.py": per_migration_env("sync_template")})
    locked = run_cli("lock", "--project", str(project))
    assert locked.code == 0, locked.stdout + locked.stderr
    (project / "migrations" / "versions" / Rev("0005", "0004").filename).write_text(
        Rev("0005", "0004", FACTS["0005"]).source())
    result = verify(project, "--stage", "fresh", "--stage", "lint")

    assert result.code == 0, result.stdout + result.stderr
    assert {f["revision"] for f in result.findings("fresh", "deploy-rewrite")} == {"0002", "0004"}
    assert result.findings("lint", "measured-unpredicted") == []
    found = _lint(result, "0005", "set-not-null")
    assert "measured: ACCESS EXCLUSIVE on public.items, every row read" in found["message"]


def test_one_transaction_for_the_whole_walk_still_grounds_the_rewrite(verify, tmp_path):
    # Alembic's template: 0001's lock on items is still held when 0003 alters it, so 0003's
    # own lock is not seen; whether it rewrote the table still is.
    facts = {revision: FACTS[revision] for revision in ("0002", "0003")}
    project = build_project(tmp_path / "project", _history(facts), models=MODELS)
    result = verify(project, "--stage", "fresh", "--stage", "lint")

    assert result.code == 0, result.stdout + result.stderr
    found = _lint(result, "0003", "alter-column-type")
    assert found["severity"] == "info"
    assert "no rewrite on PostgreSQL" in found["message"]
    assert "(a lock on public.items held already), so not reported" in found["message"]
    assert _lint(result, "0002", "alter-column-type")["severity"] == "warning"
