"""Catalog queries behind `take_snapshot`: one per kind of object, whatever the schema's size.

Every query takes the parameter `version_table` (Alembic's bookkeeping table, never
part of the schema under test) and returns rows ordered so snapshots are deterministic.
All but SCHEMAS and EXTENSIONS start each row with the oid of what it describes (the
relation, type or function) and take `only`, the text of an oid[] ('{16384,16390}'), to
read just those objects, which is how an incremental snapshot re-reads what a migration
step touched; `everything(query)` is the same query for every object. `only` is bound as
text and cast in SQL: every driver sends a string the same way, and one statement text
serves every set of oids, so the server can keep its plan.
"""

from __future__ import annotations

# Where the incremental snapshot's DDL log lives, only on the suite's throwaway databases.
TRACKING_SCHEMA = "alembic_preflight_ddl"


def _user_schema(alias: str) -> str:
    # pg_toast*, pg_toast_temp_* and pg_temp_* belong to the server, not to the project.
    return (
        f"{alias}.nspname NOT IN ('pg_catalog', 'information_schema', '{TRACKING_SCHEMA}') "
        f"AND {alias}.nspname !~ '^pg_(toast|temp_)'"
    )


def _only(oid: str) -> str:
    return f"{oid} = ANY(CAST(CAST(%(only)s AS text) AS oid[]))"


def everything(query: str) -> str:
    """The query without its `only` filter: a plain condition lets the planner use the
    catalogs' oid indexes when reading a few objects, so the full form is a text of its own."""
    for key in ("c.oid", "t.oid", "p.oid"):
        query = query.replace(_only(key), "true")
    return query


def _not_from_extension(catalog: str, oid: str) -> str:
    # Objects an extension created come and go with the extension; comparing them
    # would report the extension's internals instead of the project's schema.
    return (
        "NOT EXISTS (SELECT FROM pg_depend e "
        f"WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"
    )


# A relation `c` in namespace `n` that belongs to the project.
_USER_RELATION = f"""
    {_user_schema("n")} AND {_only("c.oid")}
    AND c.relname <> %(version_table)s
    AND {_not_from_extension("pg_class", "c.oid")}
"""

_RELATION_FROM = """
    pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
"""


def _facts(acl: str, default: str) -> str:
    """(grantee, privilege, grantable, revoked) for each privilege `acl` grants beyond
    `default` (what the object has without a GRANT; NULL: nothing), and for each one of
    `default` it lacks. The owner's own privileges are in `default`, and in `acl` as soon as
    anything is granted: they are no difference, and a REVOKE that empties the rest leaves
    them behind. Who granted it is not part of a fact: the owner, whoever ran the GRANT."""
    grantee = "CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee)::text END"
    return f"""(
    SELECT {grantee}, e.privilege_type::text, e.is_grantable, false FROM aclexplode({acl}) e
    WHERE NOT coalesce(aclcontains({default}, makeaclitem(e.grantee, e.grantor, e.privilege_type,
                                                          e.is_grantable)), false)
    UNION ALL
    SELECT {grantee}, e.privilege_type::text, false, true FROM aclexplode({default}) e
    WHERE NOT aclcontains({acl}, makeaclitem(e.grantee, e.grantor, e.privilege_type, false))
) f(grantee, privilege, grantable, revoked)"""


def _grants(kind: str, column: str, acl: str, default: str) -> str:
    """The grants `acl` holds, as a text[][] of [kind, column or NULL, grantee, privilege,
    grantable, revoked]: a column of the row of the object they are on, so a step that
    re-reads an object re-reads its grants with no statement more. NULL where `acl` is: the
    object has its defaults only, and the CASE spares it the subquery."""
    return f"""CASE WHEN {acl} IS NOT NULL THEN ARRAY(
        SELECT ARRAY[{kind}, {column}, f.grantee, f.privilege, f.grantable::text, f.revoked::text]
        FROM {_facts(acl, default)}) END"""


# The grants on relation `c` (a sequence's too), and on its column `a`.
_RELATION_GRANTS = _grants(
    "CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' "
    "WHEN 'f' THEN 'foreign table' ELSE 'table' END",
    "NULL", "c.relacl", """acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)""")
_COLUMN_GRANTS = _grants("'column'", "a.attname::text", "a.attacl", "NULL")
_FUNCTION_GRANTS = _grants("CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END", "NULL", "p.proacl",
                           "acldefault('f', p.proowner)")
# initdb gives the public schema USAGE (before PostgreSQL 15, CREATE too) for PUBLIC: that
# is where every database starts, not something a project granted.
_SCHEMA_GRANTS = _grants("'schema'", "NULL", "n.nspacl", """
    acldefault('n', n.nspowner) || CASE WHEN n.nspname <> 'public' THEN '{}'
        ELSE makeaclitem(0, n.nspowner, 'USAGE', false)
             || CASE WHEN current_setting('server_version_num')::int < 150000
                     THEN ARRAY[makeaclitem(0, n.nspowner, 'CREATE', false)] ELSE '{}' END END""")

SCHEMAS = f"""
SELECT n.nspname, {_SCHEMA_GRANTS}
FROM pg_namespace n
WHERE {_user_schema("n")} AND {_not_from_extension("pg_namespace", "n.oid")}
ORDER BY 1
"""

EXTENSIONS = "SELECT extname FROM pg_extension ORDER BY 1"

# Tables, partitions, views and materialized views.
RELATIONS = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind::text,
       pd.description,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       pn.nspname, pc.relname,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END,
       -- row-level security, and whether it binds the table's owner too
       CASE WHEN c.relrowsecurity THEN CASE WHEN c.relforcerowsecurity THEN 'forced' ELSE 'enabled' END END,
       {_RELATION_GRANTS}
FROM {_RELATION_FROM}
LEFT JOIN pg_description pd
       ON pd.classoid = 'pg_class'::regclass AND pd.objoid = c.oid AND pd.objsubid = 0
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_USER_RELATION}
ORDER BY 2, 3
"""

COLUMNS = f"""
SELECT c.oid, n.nspname, c.relname, a.attname, {_COLUMN_GRANTS},
       format_type(a.atttypid, a.atttypmod),
       NOT a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END,
       pd.description
FROM pg_attribute a
JOIN {_RELATION_FROM} ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_description pd
       ON pd.classoid = 'pg_class'::regclass AND pd.objoid = c.oid AND pd.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'f') AND {_USER_RELATION}
ORDER BY 2, 3, 4
"""


def _column_names(relid: str, attnums: str) -> str:
    # Zero entries (expressions in an index) have no attribute and drop out of the join.
    return f"""ARRAY(
        SELECT a.attname::text
        FROM unnest({attnums}) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = {relid} AND a.attnum = k.attnum
        ORDER BY k.ord)"""


# Not-null constraints (PostgreSQL 18's contype 'n') are compared as column nullability.
CONSTRAINTS = f"""
SELECT c.oid, n.nspname, c.relname, con.conname, con.contype::text,
       pg_get_constraintdef(con.oid),
       {_column_names("con.conrelid", "con.conkey")}
FROM pg_constraint con
JOIN {_RELATION_FROM} ON c.oid = con.conrelid
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND {_USER_RELATION}
ORDER BY 2, 3, 4
"""

# Indexes that back a primary key, unique or exclusion constraint are compared as that
# constraint; listing them again would report every such difference twice.
INDEXES = f"""
SELECT c.oid, n.nspname, c.relname, i.indexrelid, ic.relname, quote_ident(ic.relname),
       pg_get_indexdef(i.indexrelid),
       {_column_names("i.indrelid", "i.indkey::int2[]")}
FROM {_RELATION_FROM}
JOIN pg_index i ON i.indrelid = c.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE {_USER_RELATION}
  AND NOT EXISTS (SELECT FROM pg_constraint con
                  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                    AND con.contype IN ('p', 'u', 'x'))
ORDER BY 2, 3, 4
"""

# The owning column is what identifies a serial's or identity's sequence: its name is
# whatever PostgreSQL or the migration happened to choose.
SEQUENCES = f"""
SELECT c.oid, n.nspname, c.relname, {_RELATION_GRANTS},
       format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
       s.seqcache, s.seqcycle,
       own_n.nspname, own_c.relname, own_a.attname
FROM pg_sequence s
JOIN {_RELATION_FROM} ON c.oid = s.seqrelid
LEFT JOIN pg_depend d
       ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
      AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class own_c ON own_c.oid = d.refobjid
LEFT JOIN pg_namespace own_n ON own_n.oid = own_c.relnamespace
LEFT JOIN pg_attribute own_a ON own_a.attrelid = d.refobjid AND own_a.attnum = d.refobjsubid
WHERE {_USER_RELATION}
ORDER BY 2, 3
"""

_USER_TYPE = f"""
    {_user_schema("n")} AND {_only("t.oid")} AND {_not_from_extension("pg_type", "t.oid")}
"""

ENUMS = f"""
SELECT t.oid, n.nspname, t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
JOIN pg_enum e ON e.enumtypid = t.oid
WHERE {_USER_TYPE}
GROUP BY 1, 2, 3
ORDER BY 2, 3
"""

# Domain check constraints are compared by definition: their names are usually generated.
DOMAINS = f"""
SELECT t.oid, n.nspname, t.typname,
       format_type(t.typbasetype, t.typtypmod),
       NOT t.typnotnull,
       pg_get_expr(t.typdefaultbin, 0),
       ARRAY(SELECT pg_get_constraintdef(con.oid) FROM pg_constraint con
             WHERE con.contypid = t.oid AND con.contype = 'c' ORDER BY 1)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND {_USER_TYPE}
ORDER BY 2, 3
"""

# pg_get_functiondef refuses aggregates, which projects almost never define.
FUNCTIONS = f"""
SELECT p.oid, n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
       pg_get_functiondef(p.oid), {_FUNCTION_GRANTS}
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind <> 'a'
  AND {_user_schema("n")} AND {_not_from_extension("pg_proc", "p.oid")} AND {_only("p.oid")}
ORDER BY 2, 3, 4
"""

# Internal triggers implement foreign keys, which are compared as constraints.
TRIGGERS = f"""
SELECT c.oid, n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t
JOIN {_RELATION_FROM} ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND {_USER_RELATION}
ORDER BY 2, 3, 4
"""

# Row-level security policies, each rendered as CREATE POLICY would state it.
POLICIES = f"""
SELECT c.oid, n.nspname, c.relname, p.polname,
       concat_ws(' ',
                 CASE WHEN p.polpermissive THEN 'AS PERMISSIVE' ELSE 'AS RESTRICTIVE' END,
                 'FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
                                         WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                 'TO ' || (SELECT string_agg(role, ', ' ORDER BY role) FROM (
                              SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_get_userbyid(r)::text END AS role
                              FROM unnest(p.polroles) AS r) roles),
                 'USING (' || pg_get_expr(p.polqual, p.polrelid) || ')',
                 'WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')')
FROM pg_policy p
JOIN {_RELATION_FROM} ON c.oid = p.polrelid
WHERE {_USER_RELATION}
ORDER BY 2, 3, 4
"""


# ALTER DEFAULT PRIVILEGES: in every schema, the ACL new objects get (against what they get
# without it); in one schema, what is added to that.
DEFAULT_PRIVILEGES = f"""
SELECT o.role, o.nspname, o.objects, f.grantee, f.privilege, f.grantable, f.revoked
FROM (
    SELECT pg_get_userbyid(d.defaclrole)::text AS role, n.nspname,
           CASE d.defaclobjtype WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                                WHEN 'T' THEN 'types' WHEN 'n' THEN 'schemas' END AS objects,
           d.defaclacl AS acl,
           CASE WHEN d.defaclnamespace = 0
                THEN acldefault(CASE d.defaclobjtype WHEN 'S' THEN 's' ELSE d.defaclobjtype END::"char",
                                d.defaclrole) END AS base
    FROM pg_default_acl d
    LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
    WHERE d.defaclnamespace = 0 OR ({_user_schema("n")})
) o
CROSS JOIN LATERAL {_facts("o.acl", "o.base")}
ORDER BY 1, 2, 3, 4, 5, 6, 7
"""

# Every grant on a relation, a column or a function, by the relation's or function's oid
# (a row for each that has any): read after a GRANT or REVOKE, which names no object to the
# DDL log, rather than the objects themselves.
PRIVILEGES = everything(f"""
SELECT c.oid, {_RELATION_GRANTS}
FROM {_RELATION_FROM}
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND c.relacl IS NOT NULL AND {_USER_RELATION}
UNION ALL
SELECT c.oid, {_COLUMN_GRANTS}
FROM {_RELATION_FROM}
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_USER_RELATION}
UNION ALL
SELECT p.oid, {_FUNCTION_GRANTS}
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prokind <> 'a' AND p.proacl IS NOT NULL
  AND {_user_schema("n")} AND {_not_from_extension("pg_proc", "p.oid")} AND {_only("p.oid")}
""")
