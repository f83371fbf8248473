"""`python -m checks reset-db`: rebuild a developer's local database from the migrations.

The recovery for a dirty local database: drop it, create it empty, apply every
revision from base. Afterwards the database holds exactly what a fresh server would,
and nothing made by hand. It deletes data, so it lists what it will drop and needs --yes.
"""

from __future__ import annotations

import sys

from psycopg import sql

from checks.commands.project_args import add_project_arguments, open_project
from checks.errors import ConfigError
from checks.project.project import Database
from harness.url import UrlServer

HELP = "drop a local database and rebuild it from the migrations (needs --yes)"


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--url", required=True, help="the database to rebuild, e.g. "
                                                     "postgresql://me@localhost/app_dev")
    parser.add_argument("--yes", action="store_true", help="really drop it")


def _tables(server: UrlServer, database: str) -> list[tuple[str, int]]:
    with server.connect(database) as conn:
        return conn.execute(
            "SELECT n.nspname || '.' || c.relname, GREATEST(c.reltuples, 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1").fetchall()


def run(args) -> int:
    out = sys.stdout
    project = open_project(args)
    server = UrlServer(args.url)
    name = server.endpoint.maintenance_db
    if name in ("postgres", "template0", "template1"):
        raise ConfigError(f"refusing to reset the system database {name!r}; name your application's "
                          "database in --url")
    with server:
        tables = _tables(server, name)
        rows = sum(n for _, n in tables)
        out.write(f"reset-db: {name} on {server.endpoint.host}:{server.endpoint.port} holds "
                  f"{len(tables)} tables, about {rows} rows\n")
        if not args.yes:
            raise ConfigError(f"not resetting {name}: this drops every table and row in it; "
                              "re-run with --yes to proceed")
        # From the maintenance database: one cannot drop the database one is connected to.
        with server.connect("postgres") as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        database = Database(server.endpoint, name)
        project.bootstrap(database)
        order = project.upgrade_order()
        project.run_steps(database, order, upgrade=True)
        heads = ", ".join(sorted(project.current_heads(database)))
    out.write(f"reset-db: rebuilt {name} from {len(order)} revisions; now at {heads}\n")
    return 0
