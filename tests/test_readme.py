"""The README: short, its set-up works, every snippet in it is checked as the manual's are
(tests/test_docs.py), and its sample output is what the bundled example prints. A
stranger copies these first; a broken one loses them."""

from __future__ import annotations

import re

from cli_support import EXAMPLE, ROOT, needs_example, run_cli
from doc_pages import README, blocks, normalized_output

TEXT = README.read_text()


def test_the_readme_is_short_and_points_into_the_manual():
    assert len(TEXT.splitlines()) <= 250
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT)
    local = [link for link in links if "://" not in link]
    assert any(link.startswith("docs/") for link in local)
    missing = [link for link in local if not (ROOT / link).is_file()]
    assert missing == [], missing


def test_the_test_command_is_the_one_ci_runs():
    assert "invoke test" in (ROOT / ".ci" / "run").read_text()
    assert any(lang == "sh" and re.search(r"^invoke test\b", body, re.M) for lang, body in blocks(README))


@needs_example
def test_the_sample_output_is_what_the_example_prints(pg_server, tmp_path):
    [sample] = [body for lang, body in blocks(README) if lang == "text"]
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    result = run_cli("verify", "--project", str(EXAMPLE), "--quiet-progress", url=url)
    assert result.code == 0, result.stdout + result.stderr
    shown = sample.replace("~/alembic-preflight/example", str(EXAMPLE))
    assert normalized_output(shown) == normalized_output(result.stdout), result.stdout


def test_the_lock_modes_table_is_the_codes():
    from checks.measure.locks import MODES, markdown_table

    table = markdown_table()
    assert "\n".join(table) in TEXT
    assert len(table) == 2 + len(MODES)
    for mode in MODES.values():
        assert f"| {mode.sql} |" in TEXT and mode.taken_by
