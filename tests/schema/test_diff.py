"""diff_snapshots reports every real difference between two databases, and nothing else."""

import pytest

from checks.schema import diff_snapshots, take_snapshot

# What SQLAlchemy's create_all would emit for a small model: generated constraint names,
# serial columns, now() defaults.
MODELS = """
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE TABLE users (
    id SERIAL NOT NULL,
    email VARCHAR(100) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    PRIMARY KEY (id),
    UNIQUE (email)
);
CREATE TABLE orders (
    id SERIAL NOT NULL,
    user_id INTEGER NOT NULL,
    status status DEFAULT 'new' NOT NULL,
    price NUMERIC(10, 2),
    PRIMARY KEY (id),
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CHECK (price >= 0)
);
CREATE INDEX ix_orders_user_id ON orders (user_id);
CREATE UNIQUE INDEX ix_orders_open ON orders (user_id) WHERE status = 'new';
CREATE VIEW open_orders AS SELECT id, user_id FROM orders WHERE status = 'new';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
"""

# The same schema as a migration might build it: columns in another order, every name
# chosen by hand, a named sequence instead of serial, other spellings of the same things.
MIGRATIONS = """
CREATE TYPE status AS ENUM ('new', 'paid');
CREATE SEQUENCE users_pk_seq AS integer;
CREATE TABLE users (
    email character varying(100) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    id integer NOT NULL DEFAULT nextval('users_pk_seq'),
    CONSTRAINT pk_users PRIMARY KEY (id),
    CONSTRAINT uq_users_email UNIQUE (email)
);
ALTER SEQUENCE users_pk_seq OWNED BY users.id;
CREATE TABLE orders (price numeric(10,2), status status NOT NULL DEFAULT 'new'::status,
                     user_id integer NOT NULL, id serial);
ALTER TABLE orders ADD CONSTRAINT pk_orders PRIMARY KEY (id);
ALTER TABLE orders ADD CONSTRAINT fk_orders_user
    FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE;
ALTER TABLE orders ADD CONSTRAINT ck_orders_price CHECK (price >= 0);
CREATE INDEX orders_user_idx ON orders USING btree (user_id);
CREATE UNIQUE INDEX uq_open_order ON orders (user_id) WHERE (status = 'new'::status);
CREATE VIEW open_orders AS
    SELECT orders.id, orders.user_id
    FROM orders
    WHERE orders.status = 'new';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE PROCEDURE touch();
"""


@pytest.fixture
def snapshot_of(pg_server):
    def build(ddl: str):
        database = pg_server.create_database("diff")
        with pg_server.connect(database) as conn:
            conn.execute(ddl)
            return take_snapshot(conn)

    return build


def test_same_schema_built_two_ways_has_no_differences(snapshot_of):
    models, migrations = snapshot_of(MODELS), snapshot_of(MIGRATIONS)
    assert models != migrations  # the raw pictures differ ...
    assert diff_snapshots(models, migrations) == []  # ... but nothing that matters does
    assert diff_snapshots(migrations, models) == []


def test_a_snapshot_has_no_differences_with_itself(snapshot_of):
    snap = snapshot_of(MODELS)
    assert diff_snapshots(snap, snap) == []


# Each case: DDL added to the models side, DDL added to the migrations side (both on top
# of MODELS), and the one difference expected as (object, property, message).
REAL_DIFFERENCES = {
    "server_default": (
        "",
        "ALTER TABLE users ALTER created_at DROP DEFAULT",
        ("users.created_at", "default", "users.created_at: default now() in models, none in migrations"),
    ),
    "nullable": (
        "",
        "ALTER TABLE users ALTER email DROP NOT NULL",
        ("users.email", "nullable", "users.email: nullable false in models, true in migrations"),
    ),
    "type": (
        "",
        "ALTER TABLE users ALTER email TYPE text",
        ("users.email", "type", "users.email: type character varying(100) in models, text in migrations"),
    ),
    "check_constraint": (
        "",
        "ALTER TABLE orders DROP CONSTRAINT orders_price_check, ADD CHECK (price > 0)",
        ("check constraint orders.orders_price_check", "definition",
         "check constraint orders.orders_price_check: definition CHECK ((price >= (0)::numeric)) "
         "in models, CHECK ((price > (0)::numeric)) in migrations"),
    ),
    "enum_label_order": (
        "CREATE TYPE mood AS ENUM ('sad', 'happy')",
        "CREATE TYPE mood AS ENUM ('happy', 'sad')",
        ("enum mood", "labels",
         "enum mood: labels ('sad', 'happy') in models, ('happy', 'sad') in migrations"),
    ),
    "foreign_key_on_delete": (
        "",
        "ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey, ADD CONSTRAINT fk_orders_user "
        "FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL",
        ("foreign key orders.orders_user_id_fkey", "on_delete",
         "foreign key orders.orders_user_id_fkey: on_delete CASCADE in models, SET NULL in migrations"),
    ),
    "index_predicate": (
        "",
        "DROP INDEX ix_orders_open; "
        "CREATE UNIQUE INDEX ix_orders_open ON orders (user_id) WHERE status <> 'paid'",
        ("index orders.ix_orders_open", "definition",
         "index orders.ix_orders_open: definition CREATE UNIQUE INDEX ON public.orders USING btree "
         "(user_id) WHERE (status = 'new'::status) in models, CREATE UNIQUE INDEX ON public.orders "
         "USING btree (user_id) WHERE (status <> 'paid'::status) in migrations"),
    ),
    "missing_index": (
        "CREATE INDEX ix_orders_price ON orders (price)",
        "",
        ("index orders.ix_orders_price", "exists",
         "index orders.ix_orders_price: exists in models, missing in migrations: "
         "CREATE INDEX ON public.orders USING btree (price)"),
    ),
    "missing_unique_constraint": (
        "",
        "ALTER TABLE users DROP CONSTRAINT users_email_key",
        ("unique constraint users.users_email_key", "exists",
         "unique constraint users.users_email_key: exists in models, missing in migrations: UNIQUE (email)"),
    ),
    # The table's own sequence, key and index are not reported again.
    "missing_table": (
        "",
        "CREATE TABLE audit_log (id serial PRIMARY KEY, at timestamptz); CREATE INDEX ON audit_log (at)",
        ("table audit_log", "exists", "table audit_log: exists in migrations, missing in models"),
    ),
    "missing_column": (
        "ALTER TABLE users ADD COLUMN number serial",
        "",
        ("users.number", "exists", "users.number: exists in models, missing in migrations"),
    ),
    "sequence_increment": (
        "CREATE SEQUENCE invoice_numbers",
        "CREATE SEQUENCE invoice_numbers INCREMENT BY 10",
        ("sequence invoice_numbers", "increment",
         "sequence invoice_numbers: increment 1 in models, 10 in migrations"),
    ),
    "owned_sequence_increment": (
        "",
        "ALTER SEQUENCE users_id_seq INCREMENT BY 5",
        ("sequence users_id_seq", "increment",
         "sequence users_id_seq: increment 1 in models, 5 in migrations"),
    ),
    "view_definition": (
        "",
        "CREATE OR REPLACE VIEW open_orders AS SELECT id, user_id FROM orders WHERE status = 'paid'",
        ("view open_orders", "definition",
         "view open_orders: definition SELECT orders.id, orders.user_id FROM orders "
         "WHERE orders.status = 'new'::status; in models, SELECT orders.id, orders.user_id FROM orders "
         "WHERE orders.status = 'paid'::status; in migrations"),
    ),
    "trigger": (
        "",
        "DROP TRIGGER users_touch ON users; "
        "CREATE TRIGGER users_touch BEFORE INSERT OR UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch()",
        ("trigger users.users_touch", "definition",
         "trigger users.users_touch: definition CREATE TRIGGER users_touch BEFORE UPDATE ON public.users "
         "FOR EACH ROW EXECUTE FUNCTION touch() in models, CREATE TRIGGER users_touch BEFORE INSERT "
         "OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION touch() in migrations"),
    ),
    "missing_trigger": (
        "",
        "DROP TRIGGER users_touch ON users",
        ("trigger users.users_touch", "exists",
         "trigger users.users_touch: exists in models, missing in migrations: CREATE TRIGGER users_touch "
         "BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION touch()"),
    ),
    "table_comment": (
        "COMMENT ON TABLE users IS 'people who buy'",
        "",
        ("table users", "comment", "table users: comment people who buy in models, none in migrations"),
    ),
    "column_comment": (
        "COMMENT ON COLUMN users.email IS 'login'",
        "COMMENT ON COLUMN users.email IS 'login name'",
        ("users.email", "comment", "users.email: comment login in models, login name in migrations"),
    ),
    "function_body": (
        "CREATE FUNCTION answer() RETURNS integer LANGUAGE sql AS 'SELECT 42'",
        "CREATE FUNCTION answer() RETURNS integer LANGUAGE sql AS 'SELECT 41'",
        ("function answer()", "definition",
         "function answer(): definition CREATE OR REPLACE FUNCTION public.answer() RETURNS integer "
         "LANGUAGE sql AS $function$SELECT 42$function$ in models, CREATE OR REPLACE FUNCTION "
         "public.answer() RETURNS integer LANGUAGE sql AS $function$SELECT 41$function$ in migrations"),
    ),
    "domain_check": (
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)",
        "CREATE DOMAIN positive AS integer CHECK (VALUE >= 0)",
        ("domain positive", "checks",
         "domain positive: checks ('CHECK ((VALUE > 0))') in models, ('CHECK ((VALUE >= 0))') in migrations"),
    ),
    "identity": (
        "CREATE TABLE tags (id integer GENERATED ALWAYS AS IDENTITY)",
        "CREATE TABLE tags (id integer GENERATED BY DEFAULT AS IDENTITY)",
        ("tags.id", "identity", "tags.id: identity always in models, by default in migrations"),
    ),
}


@pytest.mark.parametrize("case", REAL_DIFFERENCES.values(), ids=REAL_DIFFERENCES.keys())
def test_real_difference_is_reported(snapshot_of, case):
    models_ddl, migrations_ddl, expected = case
    models, migrations = snapshot_of(MODELS + models_ddl), snapshot_of(MODELS + migrations_ddl)
    [found] = diff_snapshots(models, migrations)
    assert (found.object, found.property) == expected[:2]
    # PostgreSQL 16 stopped qualifying columns in view definitions; either reads the same.
    assert _unqualified(found.message) == _unqualified(expected[2])


def _unqualified(message: str) -> str:
    return message.replace("orders.", "")


def test_labels_name_the_sides(snapshot_of):
    before = snapshot_of(MODELS)
    after = snapshot_of(MODELS + "ALTER TABLE users ALTER email DROP NOT NULL")
    [difference] = diff_snapshots(before, after, expected_label="upgrade", actual_label="round trip")
    assert difference.message == "users.email: nullable false in upgrade, true in round trip"


@pytest.mark.parametrize("ignore", [
    {"audit_log", "users.legacy"},
    {"public.audit_log", "public.users.legacy"},
])
def test_ignored_names_take_their_contents_along(snapshot_of, ignore):
    models = snapshot_of(
        MODELS
        + "CREATE TABLE audit_log (id serial PRIMARY KEY);"
        + "ALTER TABLE users ADD COLUMN legacy serial UNIQUE; CREATE INDEX ix_legacy ON users (legacy);"
    )
    migrations = snapshot_of(MODELS)
    # The column's key and index are objects of their own; its sequence goes with it.
    assert [d.object for d in diff_snapshots(models, migrations)] == [
        "table audit_log",
        "users.legacy",
        "unique constraint users.users_legacy_key",
        "index users.ix_legacy",
    ]
    assert diff_snapshots(models, migrations, ignore=frozenset(ignore)) == []
