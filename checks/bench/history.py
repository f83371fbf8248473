"""A synthetic but realistic migration history, held as a model of the schema it builds.

Each revision is one change a team would make: create a table, add a column with a
server default and a CHECK, an enum column, a foreign key, an index, a backfilled column
made unique, a rename, seed rows, an enum label whose downgrade rebuilds the type. A few
are what only `op.execute` can say (a view, a trigger and its function), a table in a
second schema, a partitioned table, and two branches merged again. The model is updated
as revisions are planned, so the models file rendered at the end matches the head
exactly, names included: object names are derived from the current table name, and a
table rename renames its key, sequence, constraints and indexes too, as a careful
migration would. Every downgrade undoes its upgrade, rows included.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

NOUNS = (
    "customers", "orders", "invoices", "products", "suppliers", "warehouses", "shipments",
    "payments", "refunds", "carts", "coupons", "reviews", "categories", "brands", "stores",
    "employees", "teams", "projects", "tasks", "comments", "tags", "accounts", "ledgers", "budgets",
    "expenses", "vendors", "contracts", "tickets", "agents", "queues", "messages", "threads",
    "devices", "sessions", "tokens", "webhooks", "events", "alerts", "reports", "dashboards",
    "metrics", "regions", "countries", "cities", "addresses", "contacts", "leads", "deals",
    "quotes", "subscriptions", "plans", "features", "releases", "builds", "artifacts",
    "deployments", "incidents", "audits", "policies", "roles", "grants",
)
RENAME_PREFIXES = ("core_", "billing_", "legacy_", "app_")
SECOND_SCHEMA = "reporting"
PARTITIONED = "event_log"  # its partitions are named PARTITIONED_p0, _p1: env.py leaves them out
# Where, as a share of the history, each revision every history has goes (from 20 revisions up).
SPECIALS = {0.2: "_second_schema", 0.3: "_add_view", 0.45: "_enum_somewhere", 0.5: "_add_trigger",
            0.6: "_partitioned", 0.66: "_drop_among_rows", 0.7: "_extend_some_enum"}
MERGES = (0.4, 0.8)  # each merges the two revisions just below it, siblings of one parent


@dataclass
class Column:
    name: str
    type: str  # SQLAlchemy type, as code: identical in the revision and the model
    nullable: bool = True
    default: str | None = None  # server default SQL
    ref: Table | None = None  # foreign key to ref.id
    ondelete: str | None = None
    index: bool = False
    unique: bool = False
    enum: tuple[str, tuple[str, ...]] | None = None  # (type name, labels)
    renamable: bool = True  # named by no index or constraint, used by no CHECK
    filled: bool = False  # holds values from the rows: a downgrade adding it back could not restore them


@dataclass
class Table:
    name: str
    columns: list[Column]
    checks: list[tuple[str, str]] = field(default_factory=list)  # (short name, SQL)
    composite: list[tuple[str, ...]] = field(default_factory=list)  # multi-column indexes
    schema: str | None = None
    partition_by: str | None = None
    rows: bool = False  # seeded

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def object_names(self) -> dict[str, list[str]]:
        """Every name derived from the table's name, by kind (what a rename must rename)."""
        t = self.name
        return {
            "constraint": [f"pk_{t}"] + [f"fk_{t}_{c.name}" for c in self.columns if c.ref]
            + [f"uq_{t}_{c.name}" for c in self.columns if c.unique]
            + [f"ck_{t}_{short}" for short, _ in self.checks],
            "index": [f"ix_{t}_{c.name}" for c in self.columns if c.index]
            + [composite_name(t, cols) for cols in self.composite],
            "sequence": [f"{t}_id_seq"],
        }


def _droppable(table: Table) -> list[Column]:
    """Columns a downgrade can add back as they were: each row holds NULL or the default."""
    return [c for c in table.columns
            if c.renamable and not (c.filled or c.index or c.unique or c.ref or c.enum)
            and (c.nullable or c.default is not None)]


def _merge_points(revisions: int, count: int, specials: set[int]) -> set[int]:
    """Where the merges go: each after two sibling revisions, clear of the specials."""
    if revisions < 20 or not count:
        return set()
    if count == len(MERGES):
        return {round(revisions * share) for share in MERGES}
    points: set[int] = set()
    for k in range(count):
        at = max(round(revisions * (k + 1) / (count + 1)), 4)
        while {at - 2, at - 1, at} & specials or {at - 3, at - 2, at - 1} & points:
            at += 1
        points.add(at)
    return {at for at in points if at < revisions}


def composite_name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


@dataclass
class Revision:
    id: str
    down: str | tuple[str, str] | None
    message: str
    upgrade: list[str]
    downgrade: list[str]


def _q(value: str) -> str:
    return repr(value)


def _column_code(col: Column, in_model: bool) -> str:
    args = [_q(col.name)]
    if col.enum and not in_model:
        name, labels = col.enum
        args.append(f"postgresql.ENUM({', '.join(map(_q, labels))}, name={_q(name)}, create_type=False)")
    elif col.enum:
        name, labels = col.enum
        args.append(f"sa.Enum({', '.join(map(_q, labels))}, name={_q(name)})")
    else:
        args.append(col.type)
    if in_model and col.ref is not None:
        args.append(f"sa.ForeignKey({_q(col.ref.name + '.id')}, ondelete={_q(col.ondelete)})")
    if col.name == "id":
        args.append("primary_key=True")
    else:
        args.append(f"nullable={col.nullable}")
    if col.default is not None:
        args.append(f"server_default=sa.text({_q(col.default)})")
    if in_model and col.index:
        args.append("index=True")
    return f"sa.Column({', '.join(args)})"


class History:
    """Plans `revisions` revisions creating `tables` tables, with `merges` merge revisions
    from 20 revisions up (at MERGES for two, spread evenly otherwise); deterministic for a seed."""

    def __init__(self, revisions: int, tables: int, seed: int = 7, merges: int = len(MERGES)) -> None:
        if not 1 <= tables <= revisions:
            raise ValueError(f"need 1 <= tables <= revisions, got {tables} tables and {revisions} revisions")
        if merges < 0 or (revisions >= 20 and merges * 4 + 8 > revisions):
            raise ValueError(f"{merges} merges need at least {merges * 4 + 8} revisions, got {revisions}")
        self.merges = merges
        self.rng = random.Random(seed)
        self.tables: list[Table] = []
        self.others: list[Table] = []  # in a second schema, partitioned: created once, never changed
        self._beside: list[Table] = []  # the tables the branch being planned changes
        self.revisions: list[Revision] = []
        self._serial = 0
        self._plan(revisions, tables)

    # --- planning -----------------------------------------------------------------
    def _plan(self, revisions: int, tables: int) -> None:
        renames_left = {"table": max(1, revisions // 60), "column": max(1, revisions // 40)}
        specials = ({round(revisions * share): name for share, name in SPECIALS.items()}
                    if revisions >= 20 else {})
        merges = _merge_points(revisions, self.merges, set(specials))
        for i in range(revisions):
            left = revisions - i
            due = tables - len(self.tables)
            down_id = self.revisions[-1].id if self.revisions else None
            if i in merges:
                # The two revisions below were planned on distinct tables, so either order
                # of applying them builds the same schema.
                up, down, message = [], [], "merge branches"
                down_id = (self.revisions[-2].id, self.revisions[-1].id)
            elif (i + 1 in merges or i + 2 in merges) and self.tables and due < left - 2:
                up, down, message = self._evolve_beside(i + 2 in merges)
            elif i in specials and self.tables and due < left - 1:
                up, down, message = getattr(self, specials[i])()
            elif due and (not self.tables or due >= left or self.rng.random() < due / left * 1.2):
                up, down, message = self._create_table()
            else:
                up, down, message = self._evolve(renames_left)
            if i + 1 in merges and self.revisions[-1].down is not None:
                down_id = self.revisions[-1].down  # a sibling of the revision below
            rev_id = hashlib.sha1(f"bench-{i}".encode()).hexdigest()[:12]
            self.revisions.append(Revision(rev_id, down_id, message, up, down))

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def _evolve(self, renames_left: dict[str, int]):
        ops = [(self._add_counter, 5), (self._add_enum, 2), (self._add_fk, 3), (self._add_index, 3),
               (self._add_flag, 2), (self._change_default, 2), (self._add_notes, 2),
               (self._backfill_unique, 1), (self._add_json, 1), (self._extend_enum, 3), (self._seed, 2),
               (self._backfill_label, 1), (self._drop_column, 2)]
        table = self.rng.choice(self.tables)
        roll = self.rng.random()
        if renames_left["table"] and roll < 0.05:
            renames_left["table"] -= 1
            return self._rename_table(table)
        if renames_left["column"] and roll < 0.12 and any(c.renamable for c in table.columns):
            renames_left["column"] -= 1
            return self._rename_column(table)
        op = self.rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
        return op(table)

    def _evolve_beside(self, first: bool):
        """A branch revision: a change to one table only, one the other branch leaves alone."""
        self._beside = [] if first else self._beside
        table = self.rng.choice([t for t in self.tables if t not in self._beside] or self.tables)
        self._beside.append(table)
        op = self.rng.choice([self._add_counter, self._add_flag, self._add_notes, self._add_json])
        return op(table)

    # --- operations: each returns (upgrade lines, downgrade lines, message) -----------
    def _create_table(self):
        used = {t.name for t in self.tables}
        base = NOUNS[len(self.tables) % len(NOUNS)]
        name = base if base not in used else f"{base}_{self._next()}"
        cols = [Column("id", "sa.Integer()", nullable=False, renamable=False),
                Column("name", "sa.String(length=120)", nullable=False, renamable=False),
                Column("created_at", "sa.DateTime(timezone=True)", nullable=False, default="now()",
                       renamable=False)]
        owner = self.rng.choice(self.tables) if self.tables and self.rng.random() < 0.5 else None
        if owner is not None:
            cols.append(Column(f"{owner.name}_id", "sa.Integer()", nullable=False, ref=owner,
                               ondelete="CASCADE", index=True, renamable=False))
        table = Table(name, cols)
        self.tables.append(table)
        body = [f"sa.PrimaryKeyConstraint('id', name={_q('pk_' + name)})"]
        if owner is not None:
            col = cols[-1].name
            body.append(f"sa.ForeignKeyConstraint([{_q(col)}], [{_q(owner.name + '.id')}], "
                        f"name={_q(f'fk_{name}_{col}')}, ondelete='CASCADE')")
        up = ["op.create_table(", f"    {_q(name)},"]
        up += [f"    {_column_code(c, in_model=False)}," for c in cols]
        up += [f"    {b}," for b in body] + [")"]
        if owner is not None:
            fk_col = cols[-1].name
            up.append(f"op.create_index({_q(f'ix_{name}_{fk_col}')}, {_q(name)}, [{_q(fk_col)}])")
        elif self.rng.random() < 0.4:
            # Seed rows, so later backfills and constraints meet real data.
            table.rows = True
            up.append(f"op.execute(\"INSERT INTO {name} (name) "
                      f"SELECT '{name} ' || g FROM generate_series(1, 25) AS g\")")
        return up, [f"op.drop_table({_q(name)})"], f"create {name}"

    def _add_column(self, table: Table, col: Column, check: tuple[str, str] | None = None):
        table.columns.append(col)
        up = [f"op.add_column({_q(table.name)}, {_column_code(col, in_model=False)})"]
        down = [f"op.drop_column({_q(table.name)}, {_q(col.name)})"]
        if check is not None:
            table.checks.append(check)
            ck = f"ck_{table.name}_{check[0]}"
            # op.f: the name as written; the models' naming convention would prefix it again,
            # and a later table rename would look for a constraint that does not exist.
            up.append(f"op.create_check_constraint(op.f({_q(ck)}), {_q(table.name)}, {_q(check[1])})")
            down.insert(0, f"op.drop_constraint(op.f({_q(ck)}), {_q(table.name)}, type_='check')")
        return up, down

    def _add_counter(self, table: Table):
        n = self._next()
        name = self.rng.choice(["quantity", "priority", "retries", "score", "position"]) + f"_{n}"
        if self.rng.random() < 0.5:
            col = Column(name, "sa.Integer()", nullable=False, default="0", renamable=False)
            up, down = self._add_column(table, col, (f"{name}_nonneg", f"{name} >= 0"))
        else:
            col = Column(f"amount_{n}", "sa.Numeric(precision=12, scale=2)", nullable=False, default="0")
            up, down = self._add_column(table, col)
            name = col.name
        return up, down, f"add {table.name}.{name}"

    def _add_enum(self, table: Table):
        n = self._next()
        labels = self.rng.choice([("draft", "active", "archived"), ("low", "normal", "high"),
                                  ("pending", "done", "failed", "cancelled")])
        type_name = f"{table.name}_state_{n}"
        col = Column(f"state_{n}", "", nullable=False, default=f"'{labels[0]}'", enum=(type_name, labels),
                     renamable=False)
        quoted = ", ".join(f"'{label}'" for label in labels)
        up, down = self._add_column(table, col)
        up.insert(0, f"op.execute(\"CREATE TYPE {type_name} AS ENUM ({quoted})\")")
        down.append(f"op.execute(\"DROP TYPE {type_name}\")")
        return up, down, f"add {table.name}.state_{n} enum"

    def _add_fk(self, table: Table):
        others = [t for t in self.tables if t is not table] or [table]
        ref = self.rng.choice(others)
        name = f"{ref.name}_id_{self._next()}"
        col = Column(name, "sa.Integer()", nullable=True, ref=ref, ondelete="SET NULL", index=True,
                     renamable=False)
        up, down = self._add_column(table, col)
        fk, ix = f"fk_{table.name}_{name}", f"ix_{table.name}_{name}"
        up += [f"op.create_foreign_key({_q(fk)}, {_q(table.name)}, {_q(ref.name)}, [{_q(name)}], ['id'], "
               "ondelete='SET NULL')",
               f"op.create_index({_q(ix)}, {_q(table.name)}, [{_q(name)}])"]
        down[:0] = [f"op.drop_index({_q(ix)}, table_name={_q(table.name)})",
                    f"op.drop_constraint({_q(fk)}, {_q(table.name)}, type_='foreignkey')"]
        return up, down, f"link {table.name} to {ref.name}"

    def _add_index(self, table: Table):
        if ("name", "created_at") not in table.composite and self.rng.random() < 0.4:
            cols = ("name", "created_at")
            table.composite.append(cols)
            ix = composite_name(table.name, cols)
            up = [f"op.create_index({_q(ix)}, {_q(table.name)}, {list(cols)!r})"]
        else:
            candidates = [c for c in table.columns if not c.index and c.name != "id" and not c.unique]
            if not candidates:
                return self._add_notes(table)
            col = self.rng.choice(candidates)
            col.index, col.renamable = True, False
            ix = f"ix_{table.name}_{col.name}"
            up = [f"op.create_index({_q(ix)}, {_q(table.name)}, [{_q(col.name)}])"]
        return up, [f"op.drop_index({_q(ix)}, table_name={_q(table.name)})"], f"index {ix}"

    def _add_flag(self, table: Table):
        col = Column(f"is_enabled_{self._next()}", "sa.Boolean()", nullable=False, default="true")
        up, down = self._add_column(table, col)
        return up, down, f"add {table.name}.{col.name}"

    def _change_default(self, table: Table):
        flags = [c for c in table.columns if c.type == "sa.Boolean()"]
        if not flags:
            return self._add_flag(table)
        col = self.rng.choice(flags)
        old, new = col.default, "false" if col.default == "true" else "true"
        col.default, col.filled = new, True  # rows added before keep the old default
        alter = f"op.alter_column({_q(table.name)}, {_q(col.name)}, server_default=sa.text({{}}))"
        return ([alter.format(_q(new))], [alter.format(_q(old))],
                f"default {table.name}.{col.name} to {new}")

    def _add_notes(self, table: Table):
        col = Column(f"notes_{self._next()}", "sa.Text()")
        up, down = self._add_column(table, col)
        return up, down, f"add {table.name}.{col.name}"

    def _add_json(self, table: Table):
        col = Column(f"meta_{self._next()}", "postgresql.JSONB(astext_type=sa.Text())", nullable=False,
                     default="'{}'::jsonb")
        up, down = self._add_column(table, col)
        return up, down, f"add {table.name}.{col.name}"

    def _backfill_unique(self, table: Table):
        """The classic three-step: add nullable, backfill from existing rows, then tighten."""
        name = f"code_{self._next()}"
        table.columns.append(Column(name, "sa.String(length=40)", nullable=False, unique=True,
                                    renamable=False))
        uq = f"uq_{table.name}_{name}"
        up = [f"op.add_column({_q(table.name)}, sa.Column({_q(name)}, sa.String(length=40), nullable=True))",
              f"op.execute(\"UPDATE {table.name} SET {name} = upper(left(name, 3)) || '-' || id\")",
              f"op.alter_column({_q(table.name)}, {_q(name)}, existing_type=sa.String(length=40), "
              "nullable=False)",
              f"op.create_unique_constraint({_q(uq)}, {_q(table.name)}, [{_q(name)}])"]
        down = [f"op.drop_constraint({_q(uq)}, {_q(table.name)}, type_='unique')",
                f"op.drop_column({_q(table.name)}, {_q(name)})"]
        return up, down, f"backfill {table.name}.{name}"

    def _extend_enum(self, table: Table):
        """A label added; the downgrade rebuilds the type without it, as PostgreSQL has no
        DROP VALUE: rename the type, create the old one, convert the column, drop the renamed."""
        col = next((c for c in table.columns if c.enum and len(c.enum[1]) < 6), None)
        if col is None:
            return self._add_enum(table)
        type_name, labels = col.enum
        label = f"extra_{self._next()}"
        col.enum = (type_name, (*labels, label))
        old = ", ".join(f"'{value}'" for value in labels)
        up = [f"op.execute(\"ALTER TYPE {type_name} ADD VALUE '{label}'\")"]
        down = [f"op.execute('ALTER TYPE {type_name} RENAME TO {type_name}_old')",
                f"op.execute(\"CREATE TYPE {type_name} AS ENUM ({old})\")",
                f"op.alter_column({_q(table.name)}, {_q(col.name)}, server_default=None)",
                f"op.execute('ALTER TABLE {table.name} ALTER COLUMN {col.name} TYPE {type_name} "
                f"USING {col.name}::text::{type_name}')",
                f"op.alter_column({_q(table.name)}, {_q(col.name)}, "
                f"server_default=sa.text({_q(col.default)}))",
                f"op.execute('DROP TYPE {type_name}_old')"]
        return up, down, f"add {label} to {type_name}"

    def _enum_somewhere(self):
        return self._add_enum(self.rng.choice(self.tables))

    def _extend_some_enum(self):
        with_enum = [t for t in self.tables if any(c.enum for c in t.columns)]
        return self._extend_enum(self.rng.choice(with_enum or self.tables))

    def _drop_column(self, table: Table, col: Column | None = None):
        """A column nobody used dropped; the downgrade adds it back (last, where ADD COLUMN puts
        it), with the default or NULL every row had."""
        col = col or next(iter(_droppable(table)), None)
        if col is None:
            return self._add_notes(table)
        table.columns.remove(col)
        return ([f"op.drop_column({_q(table.name)}, {_q(col.name)})"],
                [f"op.add_column({_q(table.name)}, {_column_code(col, in_model=False)})"],
                f"drop {table.name}.{col.name}")

    def _drop_among_rows(self):
        """Dropped from a table with rows and columns after it: added back, it comes last."""
        for table in self.tables:
            inner = [c for c in _droppable(table) if c is not table.columns[-1]]
            if table.rows and inner:
                return self._drop_column(table, inner[0])
        return self._drop_column(self.rng.choice(self.tables))

    def _seed(self, table: Table):
        """Seed rows, deleted again by the downgrade."""
        if any(not c.nullable and c.default is None and c.name not in ("id", "name") for c in table.columns):
            return self._add_notes(table)  # a required column a seed would have to invent
        mark = f"seed {self._next()} "
        table.rows = True
        up = [f"op.execute(\"INSERT INTO {table.name} (name) "
              f"SELECT '{mark}' || g FROM generate_series(1, 5) AS g\")"]
        down = [f"op.execute(\"DELETE FROM {table.name} WHERE starts_with(name, '{mark}')\")"]
        return up, down, f"seed {table.name}"

    def _backfill_label(self, table: Table):
        """A data migration: a new column filled from the rows already there."""
        col = Column(f"label_{self._next()}", "sa.Text()", filled=True)
        up, down = self._add_column(table, col)
        up.append(f"op.execute('UPDATE {table.name} SET {col.name} = initcap(name)')")
        return up, down, f"backfill {table.name}.{col.name}"

    def _second_schema(self):
        table = Table("daily_totals", [Column("id", "sa.Integer()", nullable=False),
                                       Column("total", "sa.Numeric(precision=14, scale=2)", nullable=False,
                                              default="0")], schema=SECOND_SCHEMA)
        up = [f"op.execute('CREATE SCHEMA {SECOND_SCHEMA}')", *self._create_other(table)]
        down = [f"op.drop_table({_q(table.name)}, schema={_q(SECOND_SCHEMA)})",
                f"op.execute('DROP SCHEMA {SECOND_SCHEMA}')"]
        return up, down, f"create {SECOND_SCHEMA}.{table.name}"

    def _partitioned(self):
        table = Table(PARTITIONED, [Column("id", "sa.Integer()", nullable=False),
                                    Column("name", "sa.String(length=120)", nullable=False)],
                      partition_by="RANGE (id)")
        up = self._create_other(table)
        up += [f"op.execute('CREATE TABLE {PARTITIONED}_p{n} PARTITION OF {PARTITIONED} "
               f"FOR VALUES FROM ({low}) TO ({high})')"
               for n, (low, high) in enumerate([("MINVALUE", "100000"), ("100000", "MAXVALUE")])]
        return up, [f"op.drop_table({_q(PARTITIONED)})"], f"create {PARTITIONED}, partitioned"

    def _create_other(self, table: Table) -> list[str]:
        """A table outside the evolving ones: no later revision renames or changes it."""
        self.others.append(table)
        where = f", schema={_q(table.schema)}" if table.schema else ""
        how = f", postgresql_partition_by={_q(table.partition_by)}" if table.partition_by else ""
        return ["op.create_table(", f"    {_q(table.name)},",
                *(f"    {_column_code(c, in_model=False)}," for c in table.columns),
                f"    sa.PrimaryKeyConstraint('id', name={_q('pk_' + table.name)}){where}{how},", ")"]

    def _add_view(self):
        table = self.rng.choice(self.tables)
        view = f"{table.name}_names_{self._next()}"
        return ([f"op.execute('CREATE VIEW {view} AS SELECT id, name FROM {table.name}')"],
                [f"op.execute('DROP VIEW {view}')"], f"view {view}")

    def _add_trigger(self):
        table = self.rng.choice(self.tables)
        n = self._next()
        function, trigger = f"trim_name_{n}", f"trg_{table.name}_trim_{n}"
        up = [f"op.execute('CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
              "$$ BEGIN NEW.name = btrim(NEW.name); RETURN NEW; END $$')",
              f"op.execute('CREATE TRIGGER {trigger} BEFORE INSERT OR UPDATE ON {table.name} "
              f"FOR EACH ROW EXECUTE FUNCTION {function}()')"]
        down = [f"op.execute('DROP TRIGGER {trigger} ON {table.name}')",
                f"op.execute('DROP FUNCTION {function}()')"]
        return up, down, f"trigger {trigger}"

    def _rename_column(self, table: Table):
        col = self.rng.choice([c for c in table.columns if c.renamable])
        old, new = col.name, f"{col.name.rsplit('_', 1)[0]}_renamed_{self._next()}"
        col.name = new
        alter = f"op.alter_column({_q(table.name)}, {{}}, new_column_name={{}})"
        return ([alter.format(_q(old), _q(new))], [alter.format(_q(new), _q(old))],
                f"rename {table.name}.{old} to {new}")

    def _rename_table(self, table: Table):
        old_name, before = table.name, table.object_names()
        prefix = self.rng.choice(RENAME_PREFIXES)
        table.name = f"{prefix}{old_name}"
        after = table.object_names()

        def renames(src: str, dst: str, src_names: dict, dst_names: dict) -> list[str]:
            lines = [f"op.rename_table({_q(src)}, {_q(dst)})"]
            for a, b in zip(src_names["constraint"], dst_names["constraint"], strict=True):
                lines.append(f"op.execute('ALTER TABLE {dst} RENAME CONSTRAINT {a} TO {b}')")
            for a, b in zip(src_names["index"], dst_names["index"], strict=True):
                lines.append(f"op.execute('ALTER INDEX {a} RENAME TO {b}')")
            a, b = src_names["sequence"][0], dst_names["sequence"][0]
            lines.append(f"op.execute('ALTER SEQUENCE {a} RENAME TO {b}')")
            return lines

        return (renames(old_name, table.name, before, after), renames(table.name, old_name, after, before),
                f"rename {old_name} to {table.name}")

    # --- rendering ------------------------------------------------------------------
    def models_source(self) -> str:
        lines = ['"""The models: what the head of the generated history must build."""', "",
                 "import sqlalchemy as sa", "from sqlalchemy.dialects import postgresql  # noqa: F401",
                 "", "metadata = sa.MetaData(naming_convention={",
                 '    "ix": "ix_%(column_0_label)s",',
                 '    "uq": "uq_%(table_name)s_%(column_0_name)s",',
                 '    "ck": "ck_%(table_name)s_%(constraint_name)s",',
                 '    "fk": "fk_%(table_name)s_%(column_0_name)s",',
                 '    "pk": "pk_%(table_name)s",', "})", ""]
        for table in [*self.tables, *self.others]:
            lines += ["", f"{table.name} = sa.Table(", f"    {_q(table.name)},", "    metadata,"]
            lines += [f"    {_column_code(c, in_model=True)}," for c in table.columns]
            lines += [f"    sa.CheckConstraint({_q(sql)}, name={_q(short)})," for short, sql in table.checks]
            lines += [f"    sa.UniqueConstraint({_q(c.name)})," for c in table.columns if c.unique]
            lines += [f"    sa.Index({_q(composite_name(table.name, cols))}, "
                      f"{', '.join(map(_q, cols))})," for cols in table.composite]
            lines += [f"    schema={_q(table.schema)},"] if table.schema else []
            lines += [f"    postgresql_partition_by={_q(table.partition_by)},"] if table.partition_by else []
            lines.append(")")
        return "\n".join(lines) + "\n"

    def revision_source(self, rev: Revision) -> str:
        body = "\n".join([*rev.upgrade, "", *rev.downgrade])
        dialect = "from sqlalchemy.dialects import postgresql\n" if "postgresql." in body else ""

        def block(lines: list[str]) -> str:
            return "\n".join(f"    {line}" for line in lines) or "    pass"

        revises = ", ".join(rev.down) if isinstance(rev.down, tuple) else rev.down or ""
        return (f'"""{rev.message}\n\nRevision ID: {rev.id}\nRevises: {revises}\n'
                f'Create Date: 2026-01-01 00:00:00\n\n"""\n'
                f"import sqlalchemy as sa\nfrom alembic import op\n{dialect}\n"
                f"revision = {rev.id!r}\ndown_revision = {rev.down!r}\n"
                f"branch_labels = None\ndepends_on = None\n\n\n"
                f"def upgrade() -> None:\n{block(rev.upgrade)}\n\n\n"
                f"def downgrade() -> None:\n{block(rev.downgrade)}\n")
