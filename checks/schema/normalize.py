"""Comparison keys that erase differences PostgreSQL does not care about.

Each function maps a value from a snapshot to the form two sides are compared in; the
raw values stay in the messages, so a reader sees exactly what each database holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from checks.schema.snapshot import display_name

_NEXTVAL = re.compile(r"nextval\('((?:[^']|'')+)'::regclass\)")
_IDENTIFIER = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')
_DOLLAR_QUOTE = re.compile(r"\s*(\$\w*\$)\s*")

# The same function under two spellings; pg_get_expr prints whichever the DDL used.
_SYNONYMS = {"CURRENT_TIMESTAMP": "now()"}


def default_key(expression: str | None, sequence_owners: Mapping[str, str]) -> str | None:
    """A column default with owned sequences named by their owning column.

    `users.id serial` gets `nextval('users_id_seq'::regclass)`; a migration that names
    the sequence itself gets another name for the same thing.
    """
    if expression is None:
        return None

    def by_owner(match: re.Match) -> str:
        name = _regclass_display_name(match.group(1).replace("''", "'"))
        owner = sequence_owners.get(name)
        return f"nextval(<sequence owned by {owner}>)" if owner else match.group(0)

    expression = _NEXTVAL.sub(by_owner, expression)
    return _SYNONYMS.get(expression, expression)


def _regclass_display_name(text: str) -> str:
    # regclass output is quoted where needed and schema-qualified only off search_path,
    # which the snapshot pins to public.
    parts = [quoted.replace('""', '"') if quoted else bare for quoted, bare in _IDENTIFIER.findall(text)]
    return display_name(*parts) if len(parts) == 2 else parts[-1]


def sql_key(text: str) -> str:
    """SQL text with all runs of whitespace made one space (views, messages)."""
    return " ".join(text.split())


# A literal cast to a type: 'busy'::character varying, '1'::numeric(10,2).
_CAST_LITERAL = r"'(?:[^']|'')*'::[a-z][a-z ]*(?:\(\d+(?:,\d+)?\))?"
_ELEMENT = rf"\(({_CAST_LITERAL})\)::([a-z][a-z ]*)"
_ELEMENT_CAST = re.compile(_ELEMENT)
_ARRAY_OF_CASTS = re.compile(rf"ARRAY\[((?:{_ELEMENT})(?:, (?:{_ELEMENT}))*)\]")


def expression_key(definition: str) -> str:
    """An expression PostgreSQL printed in either of its two forms of `col IN (...)` on a
    varchar column compares equal.

    Created from `IN ('a', 'b')` it stores `(ARRAY['a'::character varying, ...])::text[]`;
    that printed text, run again (a dump restored, a base written from one), stores
    `ARRAY[('a'::character varying)::text, ...]`: the same test, cast element by element.
    """
    def whole_array(match: re.Match) -> str:
        elements = _ELEMENT_CAST.findall(match.group(1))
        if len({target for _literal, target in elements}) != 1:
            return match.group(0)
        return f"(ARRAY[{', '.join(literal for literal, _target in elements)}])::{elements[0][1]}[]"

    return _ARRAY_OF_CASTS.sub(whole_array, definition)


def function_key(definition: str) -> str:
    """A function definition whose body differs from another only by layout compares equal.

    Bodies are stored verbatim, so a migration indenting the same body differently
    would otherwise read as a changed function.
    """
    return _DOLLAR_QUOTE.sub(r"\1", sql_key(definition))


_ACTION = r"(?:CASCADE|RESTRICT|SET NULL|SET DEFAULT)(?: \([^)]*\))?"
_FOREIGN_KEY = re.compile(
    r"FOREIGN KEY \(.*?\) REFERENCES (?P<references>.*?\))"
    r"(?: MATCH (?P<match>FULL|PARTIAL))?"
    rf"(?: ON UPDATE (?P<on_update>{_ACTION}))?"
    rf"(?: ON DELETE (?P<on_delete>{_ACTION}))?"
    r"(?: (?P<deferrable>DEFERRABLE(?: INITIALLY DEFERRED)?))?"
    r"(?P<not_valid> NOT VALID)?$"
)


def foreign_key_parts(definition: str) -> dict[str, str] | None:
    """The clauses of a pg_get_constraintdef foreign key, with PostgreSQL's defaults filled in.

    None when the definition is not in the expected shape (the caller then compares it whole).
    """
    match = _FOREIGN_KEY.match(definition)
    if not match:
        return None
    return {
        "references": match["references"],
        "match": match["match"] or "SIMPLE",
        "on_update": match["on_update"] or "NO ACTION",
        "on_delete": match["on_delete"] or "NO ACTION",
        "deferrable": match["deferrable"] or "NOT DEFERRABLE",
        "validated": "NOT VALID" if match["not_valid"] else "VALID",
    }
