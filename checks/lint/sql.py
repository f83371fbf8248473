"""Rules read from the SQL a revision emits in offline mode, parsed by PostgreSQL's parser.

The SQL is what really runs, whether it came from `op.add_column` or from raw SQL in
`op.execute`, so the locking rules live here. The statements of the whole history are
read in order, as one script, because transaction state crosses revision boundaries.
Tables created in the same revision are exempt from the locking rules: nobody else can
be using them yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pglast
from pglast import ast
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType, TransactionStmtKind
from pglast.visitors import Visitor

from checks.lint.rules import Hit

VOLATILE_FUNCTIONS = frozenset({
    "random", "clock_timestamp", "timeofday", "gen_random_uuid", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "uuidv4", "uuidv7", "nextval", "txid_current",
    "random_normal",
})
SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"})
_BEGIN = {TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START}
_END = {TransactionStmtKind.TRANS_STMT_COMMIT, TransactionStmtKind.TRANS_STMT_ROLLBACK}
# How the statements `_statement` reads begin: transaction control (BEGIN, START
# TRANSACTION, COMMIT, END, ROLLBACK, ABORT), SET, a SELECT (set_config) in any of its
# forms, CREATE, ALTER and DROP. Only those are parsed into syntax trees, which costs
# far more than checking the SQL parses (an INSERT of many rows, the version table's
# UPDATE in every revision).
_TRANSACTION_WORD = re.compile(r"(begin|start|commit|end|rollback|abort)\b", re.IGNORECASE)
_READ_WORD = re.compile(r"(begin|start|commit|end|rollback|abort|set|select|with|values|table|"
                        r"create|alter|drop)\b|\(", re.IGNORECASE)


def table_name(relation: ast.RangeVar) -> str:
    return f"{relation.schemaname}.{relation.relname}" if relation.schemaname else relation.relname


def _dotted(names) -> str:
    return ".".join(n.sval for n in names)


@dataclass
class _Revision:
    """What one revision has done so far, for the exemptions."""

    id: str
    created_tables: set[str] = field(default_factory=set)
    created_indexes: set[str] = field(default_factory=set)
    lock_timeout: bool = False
    lock_timeout_reported: bool = False
    not_null_checks: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, check) -> column
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)  # (table, column)


class SqlReader:
    """Reads each revision's offline SQL in history order and reports rule hits."""

    def __init__(self, version_table: str, preamble: str = "") -> None:
        self.version_table = version_table
        self.in_transaction = False
        # A lock_timeout env.py sets before the first revision covers every revision.
        self.env_lock_timeout = any(_sets_lock_timeout(s, preamble) for s in _parse(preamble))
        self.hits: list[Hit] = []
        self.rev = _Revision("")
        self.offset = 0  # of the statement being read, in its revision's SQL

    def follow(self, sql: str) -> None:
        """Only the transaction state, through a revision lint does not report on. SQL
        that does not parse leaves it as it was, as in `read`."""
        try:
            for _offset, stmt, _text in _statements(sql, _TRANSACTION_WORD):
                self._transaction(stmt)
        except pglast.parser.ParseError:
            pass

    def read(self, revision: str, sql: str) -> None:
        """Raises pglast.parser.ParseError if the SQL does not parse."""
        self.rev = _Revision(revision)
        for self.offset, stmt, text in _statements(sql, _READ_WORD):
            self._statement(stmt, text)

    # --- statements ---------------------------------------------------------------
    def _statement(self, stmt, text: str) -> None:
        if isinstance(stmt, ast.TransactionStmt):
            self._transaction(stmt)
        elif _sets_lock_timeout(stmt, text):
            self.rev.lock_timeout = True
        elif isinstance(stmt, ast.CreateStmt):
            self.rev.created_tables.add(table_name(stmt.relation))
        elif isinstance(stmt, ast.AlterTableStmt) and stmt.objtype == ObjectType.OBJECT_TABLE:
            self._alter_table(stmt, text)
        elif isinstance(stmt, ast.RenameStmt):
            self._rename(stmt, text)
        elif isinstance(stmt, ast.IndexStmt):
            self._create_index(stmt, text)
        elif isinstance(stmt, ast.DropStmt):
            self._drop(stmt, text)
        elif isinstance(stmt, ast.CreateTrigStmt):
            self._locks(table_name(stmt.relation), text)

    def _transaction(self, stmt: ast.TransactionStmt) -> None:
        if stmt.kind in _BEGIN:
            self.in_transaction = True
        elif stmt.kind in _END:
            self.in_transaction = False
            self.rev.lock_timeout = False  # SET LOCAL ends with the transaction

    def _hit(self, code: str, obj: str | None, text: str) -> None:
        self.hits.append(Hit(code, self.rev.id, obj, _short(text), offset=self.offset))

    def _existing(self, table: str) -> bool:
        return table not in self.rev.created_tables and table != self.version_table

    def _locks(self, table: str, text: str) -> None:
        """A statement that takes a strong lock on an existing table needs a lock_timeout."""
        if not self._existing(table) or self.env_lock_timeout or self.rev.lock_timeout:
            return
        if not self.rev.lock_timeout_reported:
            self.rev.lock_timeout_reported = True
            self._hit("missing-lock-timeout", table, text)

    def _alter_table(self, stmt: ast.AlterTableStmt, text: str) -> None:
        table = table_name(stmt.relation)
        if not self._existing(table):
            return
        self._locks(table, text)
        for cmd in stmt.cmds:
            kind = cmd.subtype
            if kind == AlterTableType.AT_DropColumn:
                self._hit("drop-column", f"{table}.{cmd.name}", text)
            elif kind == AlterTableType.AT_AlterColumnType:
                self._hit("alter-column-type", f"{table}.{cmd.name}", text)
            elif kind == AlterTableType.AT_SetNotNull:
                if (table, cmd.name) not in self.rev.proven_not_null:
                    self._hit("set-not-null", f"{table}.{cmd.name}", text)
            elif kind == AlterTableType.AT_AddColumn:
                self._add_column(table, cmd.def_, text)
            elif kind == AlterTableType.AT_AddConstraint:
                self._add_constraint(table, cmd.def_, text)
            elif kind == AlterTableType.AT_ValidateConstraint:
                column = self.rev.not_null_checks.get((table, cmd.name))
                if column:
                    self.rev.proven_not_null.add((table, column))

    def _add_column(self, table: str, column: ast.ColumnDef, text: str) -> None:
        name = f"{table}.{column.colname}"
        constraints = list(column.constraints or ())
        kinds = {c.contype for c in constraints}
        type_name = column.typeName.names[-1].sval if column.typeName else ""
        default = next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
        if (type_name in SERIAL_TYPES or ConstrType.CONSTR_IDENTITY in kinds
                or ConstrType.CONSTR_GENERATED in kinds or _volatile(default)):
            self._hit("volatile-default", name, text)
        elif ConstrType.CONSTR_NOTNULL in kinds and default is None:
            self._hit("add-not-null-column", name, text)
        for constraint in constraints:
            self._add_constraint(table, constraint, text, column=column.colname)

    def _add_constraint(self, table: str, constraint: ast.Constraint, text: str,
                        column: str | None = None) -> None:
        kind = constraint.contype
        label = f"{table}.{constraint.conname or column or _unnamed(constraint)}"
        if kind in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK):
            if not constraint.skip_validation:
                self._hit("constraint-not-valid", label, text)
            elif kind == ConstrType.CONSTR_CHECK and constraint.conname:
                checked = _not_null_column(constraint.raw_expr)
                if checked:
                    self.rev.not_null_checks[(table, constraint.conname)] = checked
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not constraint.indexname:
            self._hit("unique-not-using-index", label, text)

    def _rename(self, stmt: ast.RenameStmt, text: str) -> None:
        if stmt.relation is None:
            return
        table = table_name(stmt.relation)
        if not self._existing(table):
            return
        if stmt.renameType == ObjectType.OBJECT_TABLE:
            self._locks(table, text)
            self._hit("rename-table", table, text)
        elif stmt.renameType == ObjectType.OBJECT_COLUMN:
            self._locks(table, text)
            self._hit("rename-column", f"{table}.{stmt.subname}", text)

    def _create_index(self, stmt: ast.IndexStmt, text: str) -> None:
        table = table_name(stmt.relation)
        name = stmt.idxname or f"{table}(...)"
        self.rev.created_indexes.add(stmt.idxname or "")
        if stmt.concurrent:
            if self.in_transaction:
                self._hit("concurrently-in-transaction", name, text)
        elif self._existing(table):
            self._locks(table, text)
            self._hit("create-index-not-concurrent", name, text)

    def _drop(self, stmt: ast.DropStmt, text: str) -> None:
        for names in stmt.objects or ():
            if not isinstance(names, list | tuple):
                continue
            name = _dotted(names)
            if stmt.removeType == ObjectType.OBJECT_TABLE and self._existing(name):
                self._locks(name, text)
                self._hit("drop-table", name, text)
            elif stmt.removeType == ObjectType.OBJECT_INDEX:
                if stmt.concurrent:
                    if self.in_transaction:
                        self._hit("concurrently-in-transaction", name, text)
                elif name not in self.rev.created_indexes:
                    self._locks(name, text)
                    self._hit("drop-index-not-concurrent", name, text)


def _statements(sql: str, first_word: re.Pattern) -> Iterator[tuple[int, object, str]]:
    """(offset, syntax tree, text) of each statement of `sql` that begins with
    `first_word`. Raises ParseError, as pglast.parse_sql does, before the first one if
    any statement of `sql` does not parse."""
    for piece in pglast.parser.split(sql, with_parser=True, only_slices=True):
        text = sql[piece]  # from its first token, as a parsed statement's location is
        if first_word.match(text):
            (raw,) = pglast.parse_sql(text)
            yield piece.start, raw.stmt, text


def _parse(sql: str) -> list:
    try:
        return [raw.stmt for raw in pglast.parse_sql(sql)]
    except pglast.parser.ParseError:
        return []


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def _sets_lock_timeout(stmt, text: str) -> bool:
    if isinstance(stmt, ast.VariableSetStmt):
        return stmt.name == "lock_timeout" and stmt.args is not None
    # SELECT set_config('lock_timeout', '5s', true)
    lowered = text.lower()
    return isinstance(stmt, ast.SelectStmt) and "set_config" in lowered and "lock_timeout" in lowered


def _volatile(expr) -> bool:
    if expr is None:
        return False
    found = False

    class Functions(Visitor):
        def visit_FuncCall(self, ancestors, node):
            nonlocal found
            if node.funcname[-1].sval.lower() in VOLATILE_FUNCTIONS:
                found = True

    Functions()(expr)
    return found


def _not_null_column(expr) -> str | None:
    """The column of a `col IS NOT NULL` check expression."""
    if (isinstance(expr, ast.NullTest) and expr.nulltesttype == NullTestType.IS_NOT_NULL
            and isinstance(expr.arg, ast.ColumnRef)):
        return expr.arg.fields[-1].sval
    return None


def _unnamed(constraint: ast.Constraint) -> str:
    """'(unnamed foreign key on owner_id)': a name a reader can find in the revision."""
    kinds = {ConstrType.CONSTR_FOREIGN: "foreign key", ConstrType.CONSTR_CHECK: "check",
             ConstrType.CONSTR_UNIQUE: "unique", ConstrType.CONSTR_PRIMARY: "primary key"}
    columns = [getattr(c, "sval", None) or str(c) for c in (constraint.fk_attrs or constraint.keys or ())]
    on = f" on {', '.join(columns)}" if columns else ""
    return f"(unnamed {kinds.get(constraint.contype, 'constraint')}{on})"
