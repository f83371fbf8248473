"""The base revision's file holds each statement exactly as pg_dump wrote it."""

from __future__ import annotations

import ast

from checks.squash.dump import Statements
from checks.squash.roles import named_roles, undo_default_privileges
from checks.squash.writer import render

AWKWARD = [
    "COMMENT ON TABLE public.t IS 'café ☕'",
    'COMMENT ON TABLE public.t IS \'says """ three quotes\'',
    "CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$ SELECT 'ends with a backslash \\' $$",
    "COMMENT ON TABLE public.t IS 'a\\rcarriage return'",
    "CREATE VIEW public.v AS SELECT ':name'::text AS bind_lookalike",
]


def _lists(source: str) -> dict[str, list[str]]:
    tree = ast.parse(source)
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.List)}


def test_every_statement_reads_back_as_written():
    source = render("0004", None, Statements(AWKWARD, ["DROP VIEW public.v"], ["DO $$ BEGIN NULL; END $$"]),
                    4, "migrations/_squashed/0004", 15)

    lists = _lists(source)

    assert lists == {"ROLES": ["DO $$ BEGIN NULL; END $$"], "UPGRADE": AWKWARD,
                     "DOWNGRADE": ["DROP VIEW public.v"]}
    assert "revision = '0004'" in source and "down_revision = None" in source


def test_the_roles_grants_name_and_the_default_privileges_undone():
    statements = ["GRANT SELECT ON TABLE public.t TO reporting",
                  "REVOKE ALL ON SCHEMA public FROM PUBLIC",
                  'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES  TO "Odd Role"',
                  "ALTER TABLE public.t OWNER TO app_owner",
                  "GRANT ALL ON TABLE public.t TO builder"]

    assert named_roles(statements, "builder") == ["reporting", "Odd Role", "app_owner"]
    assert undo_default_privileges(statements) == [
        'ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM "Odd Role"']
