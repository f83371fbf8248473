"""The rehearse stage with the project's code in a process of its own (--python): each
statement's time is read there, with its locks, and travels back with the measurement."""

from __future__ import annotations

from projects import Rev, build_project, per_migration_env

MODELS = "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
# A table, then a change of its column's type: PostgreSQL rewrites it under ACCESS EXCLUSIVE.
REWRITE = [Rev("0001", None, 'op.create_table("items", sa.Column("id", sa.Integer, primary_key=True), '
                             'sa.Column("n", sa.Integer))'),
           Rev("0002", "0001", 'op.alter_column("items", "n", type_=sa.BigInteger)')]


def test_a_rewrite_is_timed_in_the_projects_own_python(verify, tmp_path, shared_python):
    project = build_project(tmp_path / "project", REWRITE, models=MODELS,
                            settings="volumes = { items = 5_000_000 }\nrehearse_budget = 600\n",
                            files={"migrations/env.py": per_migration_env("sync_template")})
    result = verify(project, "--stage", "rehearse", "--python", str(shared_python))
    assert result.code == 0, result.stdout + result.stderr
    [found] = result.findings("rehearse", "rehearse-lock")
    assert (found["revision"], found["object"]) == ("0002", "public.items")
    assert "by statement, at the declared volume: ALTER TABLE items ALTER COLUMN n TYPE BIGINT (" \
        in found["message"]
