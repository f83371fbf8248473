"""The measuring reads run as statements prepared once on the migration's session: what could
make the session lose them (the project's own DEALLOCATE, psycopg 3 dropping the statements it
prepared after an ALTER) costs a new PREPARE, never a read that fails the migration's
transaction, and the project's connection is left as it was found.
"""

from __future__ import annotations

import pytest
import sqlalchemy
from projects import build_project, per_migration_env
from test_deploy_risk import FACTS, MODELS, _history, _table

from projectside import measure

SA2 = int(sqlalchemy.__version__.split(".")[0]) >= 2
SYNC_DRIVERS = ["psycopg2", *(["psycopg"] if SA2 else [])]


@pytest.mark.parametrize("driver", SYNC_DRIVERS)
def test_a_revision_that_deallocates_everything_is_still_measured(verify, tmp_path, driver):
    # One transaction for the whole walk (the template's env.py): the ALTERs before and after
    # the DEALLOCATE ALL are read on the same session, the second after the statements it
    # had prepared were gone.
    facts = {"0002": 'op.execute("DEALLOCATE ALL")\n' + FACTS["0002"],
             "0003": FACTS["0003"] + '\nop.execute("DISCARD PLANS")\n' + FACTS["0006"]}
    project = build_project(tmp_path / "project", _history(facts), models=MODELS)
    result = verify(project, "--stage", "fresh", "--driver", driver)

    assert result.code == 0, result.stdout + result.stderr
    assert "public.items" in _table(result, "0002")["rewritten"]
    assert _table(result, "0002")["statements"] == ["ALTER TABLE items ALTER COLUMN n TYPE BIGINT"]
    # 0003's varchar widening and SET NOT NULL, on either side of DISCARD PLANS.
    third = _table(result, "0003")
    assert third["rewritten"] == [] and third["full_scans"] >= 1, third
    assert any("SET NOT NULL" in text for text in third["statements"]), third


@pytest.mark.parametrize("driver", SYNC_DRIVERS)
def test_measuring_one_revision_per_transaction_reads_the_same(verify, tmp_path, driver):
    facts = {revision: FACTS[revision] for revision in ("0002", "0006")}
    project = build_project(tmp_path / "project", _history(facts), models=MODELS,
                            files={"migrations/env.py": per_migration_env("sync_template")})
    result = verify(project, "--stage", "fresh", "--driver", driver)

    assert result.code == 0, result.stdout + result.stderr
    assert "public.items" in _table(result, "0002")["rewritten"]
    assert _table(result, "0006")["full_scans"] >= 1, _table(result, "0006")


@pytest.mark.skipif(not SA2, reason="SQLAlchemy 1.4 has no psycopg 3 dialect")
def test_the_session_gets_its_own_settings_back_once_measuring_ends(pg_server, make_database):
    url = pg_server.url(make_database("prepared")).set(drivername="postgresql+psycopg")
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            driver.prepare_threshold = 3
            connection.exec_driver_sql("SET plan_cache_mode = force_custom_plan")
            meter = measure.attach(connection)
            assert driver.prepare_threshold is None  # it would drop ours with its own
            # Read on the driver's connection, out of the meter's sight.
            assert driver.execute("SHOW plan_cache_mode").fetchone()[0] == "force_generic_plan"
            connection.execute(sqlalchemy.text("CREATE TABLE t (id int)"))
            connection.execute(sqlalchemy.text("ALTER TABLE t ADD COLUMN n int"))
            taken = meter.take()
            meter.detach()
            assert driver.prepare_threshold == 3
            assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
            assert [s["measured"] for s in taken["statements"]] == [True, True]
            prepared = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_prepared_statements "
                "WHERE starts_with(name, 'alembic_preflight_read_')").scalar()
            assert prepared >= 1  # the reads ran prepared, not sent whole each time
    finally:
        engine.dispose()
