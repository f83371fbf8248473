"""The lint rules: one stable code each, what it catches, why that hurts, and the safe way.

The codes are public: they appear in reports, in `# verify: allow CODE -- reason`
comments and in the lint settings, so a code is never renamed or reused.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str
    what: str  # a short description of the operation caught
    why: str  # what breaks in production
    fix: str  # the safe alternative, shown as the finding's hint


RULES: dict[str, Rule] = {r.code: r for r in (
    Rule("drop-table", "drops a table",
         "data is lost for good, and code still deployed that reads the table fails",
         "stop using the table in code and release that first; drop it in a later revision, "
         "after a backup, or rename it aside and drop it once nothing broke"),
    Rule("drop-column", "drops a column",
         "data is lost, and running code that still selects or inserts the column fails "
         "until the new release is everywhere",
         "release code that no longer uses the column first, then drop it in a later revision"),
    Rule("rename-table", "renames a table",
         "code still running under the old name fails the moment the migration commits",
         "create the new table (or a view under the new name), write to both, move readers, "
         "then drop the old name in a later revision"),
    Rule("rename-column", "renames a column",
         "code still running under the old name fails the moment the migration commits",
         "add the new column, write to both and backfill, move readers, then drop the old "
         "column in a later revision"),
    Rule("alter-column-type", "changes a column's type",
         "most type changes rewrite the whole table and its indexes under an ACCESS EXCLUSIVE "
         "lock: no reads or writes until it finishes",
         "add a column of the new type, backfill it in batches, switch code over, drop the old "
         "one (only varchar(n) to a longer varchar or text is free)"),
    Rule("volatile-default", "adds a column whose default is volatile (or serial/identity)",
         "a volatile default is computed per row, so PostgreSQL rewrites the whole table under "
         "an ACCESS EXCLUSIVE lock",
         "add the column without a default (or with a constant one), set the default in a "
         "second statement, and backfill existing rows in batches"),
    Rule("add-not-null-column", "adds a NOT NULL column without a default",
         "the ALTER fails on any table that already has rows, in production only",
         "add the column nullable, backfill in batches, add CHECK (col IS NOT NULL) NOT VALID, "
         "VALIDATE it, then SET NOT NULL; or give the column a constant server_default"),
    Rule("set-not-null", "sets NOT NULL on an existing column",
         "PostgreSQL scans the whole table under an ACCESS EXCLUSIVE lock to prove no NULLs",
         "add CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a separate step, then "
         "SET NOT NULL (PostgreSQL 12+ uses the validated check and skips the scan)"),
    Rule("create-index-not-concurrent", "creates an index on an existing table without CONCURRENTLY",
         "CREATE INDEX blocks every write to the table until the index is built",
         "op.create_index(..., postgresql_concurrently=True) inside "
         "`with op.get_context().autocommit_block():`"),
    Rule("drop-index-not-concurrent", "drops an index without CONCURRENTLY",
         "DROP INDEX takes an ACCESS EXCLUSIVE lock on the table: queued behind a long query, "
         "it blocks every read and write",
         "op.drop_index(..., postgresql_concurrently=True) inside "
         "`with op.get_context().autocommit_block():`"),
    Rule("concurrently-in-transaction", "runs CREATE/DROP INDEX CONCURRENTLY inside a transaction",
         "PostgreSQL refuses it (\"cannot run inside a transaction block\"), so the deploy fails",
         "wrap the statement in `with op.get_context().autocommit_block():`"),
    Rule("constraint-not-valid", "adds a FOREIGN KEY or CHECK constraint that is validated at once",
         "validation scans the table (and, for a foreign key, locks the referenced one) while "
         "writes are blocked",
         "add it with postgresql_not_valid=True (NOT VALID), then run "
         "ALTER TABLE ... VALIDATE CONSTRAINT in a later step, which does not block writes"),
    Rule("unique-not-using-index", "adds a UNIQUE or PRIMARY KEY constraint that builds its own index",
         "the index is built while writes to the table are blocked",
         "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX"),
    Rule("missing-lock-timeout", "alters an existing table without a lock_timeout",
         "the ALTER queues behind any long query, and every other session queues behind the "
         "ALTER: the application stalls",
         "op.execute(\"SET LOCAL lock_timeout = '5s'\") at the start of upgrade() (or once in "
         "env.py), and retry the deploy if it times out"),
    Rule("schema-and-data", "mixes schema changes and data changes in one revision",
         "a slow backfill holds the schema locks for its whole length, and a failure leaves "
         "both half done; data fixes cannot be rerun on their own",
         "move the data change into a revision of its own (or a script run outside migrations), "
         "batched"),
    Rule("empty-downgrade", "has an upgrade but a downgrade that does nothing",
         "the revision is irreversible while claiming otherwise: `alembic downgrade` reports "
         "success and leaves the schema changed",
         "write the downgrade that undoes upgrade(), or raise NotImplementedError with the "
         "reason so a rollback stops loudly"),
    Rule("vague-message", "has a message that says nothing",
         "`alembic history` cannot tell reviewers or on-call engineers what the revision does",
         "say what changes, e.g. `alembic revision -m \"add customers.notes\"`; edit the "
         "docstring's first line of this file"),
    Rule("offline-unsupported", "cannot run in offline mode (`alembic upgrade --sql`)",
         "no SQL script can be produced for review or for a DBA to apply, and the lint rules "
         "cannot see what the revision does",
         "do not read results from op.get_bind() or open an engine or connection of its own "
         "in upgrade(); compute in SQL, or branch on context.is_offline_mode(); for env.py, "
         "give it a run_migrations_offline()"),
    Rule("sql-unparsable", "emits SQL that PostgreSQL's parser rejects",
         "the statement fails when it runs, and the locking rules could not read it",
         "run `alembic upgrade REV --sql` and fix the statement it prints"),
)}


def unknown_codes(codes) -> list[str]:
    return sorted(c for c in codes if c not in RULES)



# offline-unsupported on env.py itself: the revisions' advice does not apply to it.
ENV_OFFLINE_FIX = ("env.py failed when run as `alembic upgrade --sql` runs it: if it reads app settings "
                   "that are not set here, give them in the settings' env table; if it has no offline "
                   "branch, give it a run_migrations_offline() that needs no database")

@dataclass(frozen=True)
class Hit:
    """One rule firing on one revision, before settings and suppressions are applied."""

    code: str
    revision: str | None
    object: str | None
    detail: str = ""  # e.g. the statement, so the message shows what was seen
    offset: int | None = None  # where in the revision's offline SQL the statement starts
    line: int | None = None  # the revision file's line, when the rule knows it directly
