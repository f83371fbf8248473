"""What the comparators share: the difference type, the collector that words it, and pairing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

from checks.schema.normalize import sql_key

T = TypeVar("T")
V = TypeVar("V")


@dataclass(frozen=True)
class SchemaDifference:
    object: str  # "users.created_at", "index users.ix_users_email", "enum status"
    property: str  # "default", "nullable", "type", "labels", "on_delete", "exists", ...
    message: str  # names the object, the property and both sides' values


class Report:
    """Collects differences between an expected and an actual snapshot, worded with their labels."""

    def __init__(self, expected_label: str, actual_label: str, ignore: Iterable[str]) -> None:
        self.expected_label = expected_label
        self.actual_label = actual_label
        # Public objects are displayed unqualified; accept their qualified names as well.
        self._ignore = {name.removeprefix("public.") for name in ignore} | set(ignore)
        self.differences: list[SchemaDifference] = []

    def skips(self, *names: str) -> bool:
        """Whether any name, or anything it belongs to ("users" for "users.email"), is ignored.

        A function's name ("audit(integer)") is ignored by its signature or its bare name.
        """
        for name in names:
            parts = name.split("(", 1)[0].split(".")
            prefixes = {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
            if name in self._ignore or prefixes & self._ignore:
                return True
        return False

    def changed(self, obj: str, prop: str, expected: object, actual: object,
                equal: bool | None = None) -> bool:
        """Record `prop` of `obj` when the values differ (or `equal` says they do not match)."""
        if equal is None:
            equal = expected == actual
        if equal:
            return False
        self.differences.append(SchemaDifference(
            obj, prop,
            f"{obj}: {prop} {_show(expected)} in {self.expected_label}, "
            f"{_show(actual)} in {self.actual_label}",
        ))
        return True

    def one_sided(self, obj: str, in_expected: bool, detail: str | None = None) -> None:
        present, absent = self.expected_label, self.actual_label
        if not in_expected:
            present, absent = absent, present
        message = f"{obj}: exists in {present}, missing in {absent}"
        self.differences.append(SchemaDifference(
            obj, "exists", f"{message}: {sql_key(detail)}" if detail else message,
        ))

    def presence(self, expected: Iterable[str], actual: Iterable[str], kind: str) -> None:
        """Report names present on one side only, for objects that have nothing else to compare."""
        for _ in self.by_name(dict.fromkeys(expected), dict.fromkeys(actual), kind):
            pass

    def by_name(self, expected: Mapping[str, V], actual: Mapping[str, V], kind: str,
                prefix: str = "") -> Iterator[tuple[str, V, V]]:
        """Report names present on one side only; yield (object, expected, actual) for the rest.

        `prefix` scopes the names ("users." for columns); `kind` starts the object's
        description ("table"), or is empty where the name alone is clear (columns).
        """
        for name in sorted(expected.keys() | actual.keys()):
            full = prefix + name
            if self.skips(full):
                continue
            obj = f"{kind} {full}" if kind else full
            if name not in actual:
                self.one_sided(obj, in_expected=True)
            elif name not in expected:
                self.one_sided(obj, in_expected=False)
            else:
                yield obj, expected[name], actual[name]


def pair(expected: Iterable[T], actual: Iterable[T],
         *keys: Callable[[T], Hashable]) -> tuple[list[tuple[T, T]], list[T], list[T]]:
    """Pair items of the two sides by each key in turn; returns pairs and both sides' leftovers.

    The first key is an identity (equal keys mean equal objects), so its duplicates pair
    one to one. Later keys are guesses that let a changed object be reported as changed
    rather than as missing plus extra; they pair only items that are alone with their key
    on both sides, so a guess is never ambiguous.
    """
    pairs: list[tuple[T, T]] = []
    left, right = list(expected), list(actual)
    for position, key in enumerate(keys):
        groups: dict[Hashable, tuple[list[T], list[T]]] = defaultdict(lambda: ([], []))
        for item in left:
            groups[key(item)][0].append(item)
        for item in right:
            groups[key(item)][1].append(item)
        left, right = [], []
        for lefts, rights in groups.values():
            count = min(len(lefts), len(rights)) if position == 0 or len(lefts) == len(rights) == 1 else 0
            pairs.extend(zip(lefts[:count], rights[:count], strict=True))
            left.extend(lefts[count:])
            right.extend(rights[count:])
    return pairs, left, right


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "(" + ", ".join(f"'{item}'" if isinstance(item, str) else str(item) for item in value) + ")"
    return sql_key(str(value))
