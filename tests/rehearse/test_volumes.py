"""Production volumes from a real database: `doctor --volumes-out` writes the planner's row
estimates (never a row), and the rehearse stage reads them back (`--volumes`)."""

from __future__ import annotations

import json

from cli_support import run_cli
from projects import FIXTURE_DRIVER, assert_usage_error
from test_rehearse import _project, _rehearse

from checks.rehearse import volumes


def test_doctor_writes_the_row_estimates_and_no_row(pg_server, make_database, tmp_path):
    name = make_database("app_prod")
    with pg_server.connect(name) as conn:
        conn.execute("CREATE TABLE customers (id int PRIMARY KEY, email text)")
        conn.execute("INSERT INTO customers SELECT g, 'private-' || g || '@example.com' "
                     "FROM generate_series(1, 1000) g")
        conn.execute("CREATE SCHEMA billing")
        conn.execute("CREATE TABLE billing.invoices (id int)")
        conn.execute("ANALYZE")
    url = pg_server.url(name).set(drivername=FIXTURE_DRIVER).render_as_string(hide_password=False)
    server_url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    out = tmp_path / "volumes.json"
    project = _project(tmp_path / "project")
    result = run_cli("doctor", "--project", str(project), "--url", url, "--server-url", server_url,
                     "--volumes-out", str(out))
    assert "Traceback" not in result.stderr, result.stderr
    assert f"wrote the estimated rows of 2 table(s) to {out}" in result.stdout
    written = out.read_text()
    assert json.loads(written)["tables"] == {"customers": 1000, "billing.invoices": 0}
    assert "private-" not in written
    assert f":{pg_server.endpoint.password}@" not in written  # the source names the database, no password


def test_the_stage_estimates_at_the_volumes_file(pg_server, tmp_path):
    path = tmp_path / "volumes.json"
    volumes.write(path, {"items": 3_000_000, "other": 5}, "prod")
    project = _project(tmp_path / "project", 'volumes = { "*" = 10 }\nrehearse_budget = 600\n')
    result = run_cli("verify", "--project", str(project), "--stage", "rehearse", "--volumes", str(path),
                     url=pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False),
                     report=tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    assert all("at the declared 3,000,000 rows" in f["message"] for f in result.findings("rehearse"))
    assert len(result.findings("rehearse")) == 2


def test_a_volumes_file_that_is_not_one_is_a_one_line_error(pg_server, tmp_path):
    (tmp_path / "volumes.json").write_text('{"orders": 5}')
    project = _project(tmp_path / "project", 'volumes_file = "../volumes.json"\n')
    assert_usage_error(_rehearse(pg_server, project, tmp_path / "report.json"), "not a volumes file")
