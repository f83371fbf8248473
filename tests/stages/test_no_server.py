"""The stages that read files only start no server: a pre-commit hook needs no PostgreSQL."""

from __future__ import annotations

from cli_support import EXAMPLE, needs_example, run_cli
from projects import assert_usage_error


def test_files_heads_and_lint_alone_start_no_server(tmp_path):
    result = run_cli("verify", "--project", str(EXAMPLE), "--stage", "files", "--stage", "heads",
                     "--stage", "lint", "--quiet-progress", report=tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    assert "server: no server" in result.stdout
    assert result.report["backend"] == "none"
    assert [s["name"] for s in result.report["stages"]] == ["files", "heads", "lint"]


@needs_example  # on SQLAlchemy 1.4 the example's psycopg URL adds a note about the driver
def test_backend_none_refuses_a_stage_that_needs_a_server():
    result = run_cli("verify", "--project", str(EXAMPLE), "--backend", "none", "--stage", "fresh")
    assert_usage_error(result, "--backend none", "fresh")
