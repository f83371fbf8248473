"""An app whose engine outlives one run of env.py: the suite's own work between runs (copies
of the database for merge-order) must not leave it a dead connection to fail on."""

from __future__ import annotations

from projects import ENVS, ITEMS_MODELS, Rev, build_project, items_revision

# Flask-SQLAlchemy's shape: the app's engine, pooled, lives as long as the process, and env.py
# migrates on it; a connection of that pool stays open on the database between runs.
POOLED_ENGINE = '''\
import sqlalchemy as sa

_engines = {}


def engine(url):
    if url not in _engines:
        _engines[url] = sa.create_engine(url, pool_size=2)
    return _engines[url]
'''


def test_an_app_engine_pooled_across_runs_survives_the_copies_merges_need(verify, tmp_path, shared_python):
    env = (ENVS / "sync_template.py").read_text()
    built = ('engine_from_config(config.get_section(config.config_ini_section, {}),\n'
             '                                     prefix="sqlalchemy.", poolclass=pool.NullPool)')
    assert built in env
    env = env.replace(built, '__import__("app.pool").pool.engine(config.get_main_option("sqlalchemy.url"))')
    branches = [Rev(rev, "0001", f'op.add_column("items", sa.Column("{name}", sa.Integer))',
                    f'op.drop_column("items", "{name}")') for rev, name in (("0002", "a"), ("0003", "b"))]
    revisions = [items_revision(), *branches, Rev("0004", ("0002", "0003"))]
    models = ITEMS_MODELS + 'items.append_column(sa.Column("a", sa.Integer))\n' \
                            'items.append_column(sa.Column("b", sa.Integer))\n'
    project = build_project(tmp_path / "project", revisions, models=models,
                            files={"migrations/env.py": env, "app/pool.py": POOLED_ENGINE})

    for extra in ((), ("--python", str(shared_python))):
        result = verify(project, *extra)

        statuses = {stage["name"]: stage["status"] for stage in result.report["stages"]}
        assert statuses["fresh"] in ("pass", "warn") and statuses["merge-order"] == "pass", result.stdout
        assert {statuses[name] for name in ("drift", "roundtrip")} == {"pass"}, result.stdout
