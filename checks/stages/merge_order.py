"""merge-order: the branches a merge revision joins build the same schema in any order.

A fresh database gets a merge's branches in the one order `alembic upgrade` picks. A
database that had one branch before the other arrived (deployed from that branch, or
given a hotfix ahead of the release) gets them in another. When the branches touch the
same object, the two databases end up with different schemas, or the later branch fails
on one of them only: two branches adding the same column with different types, one
altering a table the other creates.

For each merge revision, the revisions of each branch (those above the branches' common
ancestors) are applied branch after branch, for each order of the branches (at most
MAX_ORDERS per merge; the others are named), on a copy of the database taken by the
fresh build just before the first of them, and the merge revision after them. The schema
just after the merge revision (what users of either database see) must equal the one the
fresh build had there, by the round trip's comparison, with as many rows per table. An
order whose upgrade fails is reported with the revisions it ran ahead of.

A merge whose branches touch disjoint relations, by their revision files and by what the
fresh build measured, is proven order-independent instead (checks.stages.merge_commute):
no copy is kept for it, and no other order applied.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import Script

from checks.errors import MigrationError
from checks.parallel import rows
from checks.project.source_lines import def_line
from checks.pullrequest.scope import parents
from checks.result import Finding, Severity
from checks.run import Build, Checkpoints, Run, State
from checks.schema import schema_differences
from checks.schema_access import snapshot_of
from checks.stages.merge_commute import plan as commute_plan
from checks.stages.merge_commute import proven, to_prove
from checks.stages.skips import skipped_for_build

MAX_ORDERS = 8
EXACT_UP_TO = math.factorial(6)
NAME = "merge-order"


@dataclass
class Merge:
    """A merge revision, and the orders its branches are applied in besides the build's."""

    revision: Script
    heads: list[Script]  # its down revisions: the head of each branch it joins
    start: int  # where, in the order applied, the first revision of a branch is
    at: int  # where the merge revision is in it
    ours: list[Script]  # the build's order from `start` to the merge, less what the merge does not stand on
    orders: list[tuple[tuple[int, ...], list[Script]]]  # (branch heads' order, revisions from `start`)
    untried: list[tuple[int, ...]]  # orders of the branch heads left out
    untried_count: int = 0
    branches: list[frozenset[str]] = field(default_factory=list)  # each head's own revisions, by head


def applied_order(build: Build) -> list[Script]:
    """The order the build applied the revisions in: the base of a pull-request run, then
    the revisions walked one at a time."""
    walked = {script.revision for script in build.walked}
    return [script for script in build.order if script.revision not in walked] + list(build.walked)


def plan(order: list[Script], judged: set[str] | None = None) -> list[Merge]:
    """Every merge revision of `order` (those in `judged`, when given) and the orders of
    its branches to try."""
    position = {script.revision: i for i, script in enumerate(order)}
    by_id = {script.revision: script for script in order}
    merges = []
    for at, script in enumerate(order):
        if not script.is_merge_point or (judged is not None and script.revision not in judged):
            continue
        heads = [by_id[head] for head in script._versioned_down_revisions if head in by_id]
        stands_on = [_ancestors(head, by_id) for head in heads]
        common = frozenset.intersection(*stands_on)
        own = frozenset.union(*stands_on) - common
        if len(heads) < 2 or not own:
            continue
        start = min(position[revision] for revision in own)
        ours = [s for s in order[start:at] if s.revision in own or s.revision in common] + [script]
        merge = Merge(script, heads, start, at, ours, [], [], branches=[side - common for side in stands_on])
        _choose_orders(merge, order, stands_on)
        if merge.orders or merge.untried:
            merges.append(merge)
    return merges


def _ancestors(head: Script, by_id: dict[str, Script]) -> frozenset[str]:
    """`head` and every revision it stands on, depends_on included."""
    seen: set[str] = set()
    todo = [head.revision]
    while todo:
        revision = todo.pop()
        if revision in seen or revision not in by_id:
            continue
        seen.add(revision)
        todo.extend(parents(by_id[revision]))
    return frozenset(seen)


def _choose_orders(merge: Merge, order: list[Script], stands_on: list[frozenset[str]]) -> None:
    """The orders of the branches to apply: each rotation of the heads' order, and of its
    reverse, first (each branch goes first and last, and every two meet both ways round),
    then the other permutations; at most MAX_ORDERS that differ from the build's own."""
    count = len(merge.heads)
    heads = list(range(count))
    rotations = [tuple(way[i:] + way[:i]) for way in (heads, heads[::-1]) for i in range(count)]
    candidates = itertools.chain(dict.fromkeys(rotations), itertools.permutations(heads))
    ours = [s.revision for s in merge.ours]
    seen = {tuple(ours)}
    tried: set[tuple[int, ...]] = set()
    between = order[merge.start:merge.at]
    # Counted to the end up to six branches; past that, told in round figures.
    exact = math.factorial(count) <= EXACT_UP_TO
    for heads_order in candidates:
        if heads_order in tried:
            continue
        tried.add(heads_order)
        revisions = _branch_by_branch(heads_order, between, stands_on) + [merge.revision]
        key = tuple(s.revision for s in revisions)
        if key in seen:
            continue  # the build's own order, or one already chosen
        seen.add(key)
        if len(merge.orders) < MAX_ORDERS:
            merge.orders.append((heads_order, revisions))
            continue
        merge.untried_count += 1
        if len(merge.untried) < MAX_ORDERS:
            merge.untried.append(heads_order)
        elif not exact:
            merge.untried_count = math.factorial(count) - len(merge.orders) - 1
            break


def _branch_by_branch(heads_order: tuple[int, ...], between: list[Script],
                      stands_on: list[frozenset[str]]) -> list[Script]:
    applied: set[str] = set()
    revisions = []
    for branch in heads_order:
        for script in between:
            if script.revision in stands_on[branch] and script.revision not in applied:
                applied.add(script.revision)
                revisions.append(script)
    return revisions


def plan_checkpoints(run: Run, build: Build) -> Checkpoints | None:
    """What the fresh build keeps for this stage: a copy of the database before each
    merge's first branch revision, and the state just after each merge. Nothing at all
    for a history without merges, nor for a merge whose revision files say its branches
    touch other tables (merge_commute): the build's measurements are to prove it."""
    order = applied_order(build)
    merges = plan(order, _judged(run, build))
    if not merges:
        return None
    offset = len(order) - len(build.walked)
    checkpoints = Checkpoints()
    for merge in merges:
        if to_prove(run, merge):
            commute_plan(checkpoints, merge)  # the build's measurements are likely to prove it
            continue
        if merge.start >= offset and merge.start > 0:
            checkpoints.copies[merge.start - offset] = None
        if len(merge.ours) == merge.at - merge.start + 1:
            checkpoints.states[merge.at - offset] = None
    return checkpoints if checkpoints.copies or checkpoints.states or checkpoints.ties else None


def _judged(run: Run, build: Build) -> set[str] | None:
    """In a pull-request run, the merges it adds: the base's were judged when they were new."""
    return {script.revision for script in build.walked} if run.scope is not None else None


def check(run: Run) -> list[Finding]:
    """Databases that got a merge's branches in another order than a fresh one does must
    end up alike: otherwise the same release runs against two schemas, or fails to upgrade
    one of them."""
    build = run.build()
    if build.error is not None:
        return skipped_for_build(build)
    order = applied_order(build)
    merges = plan(order, _judged(run, build))
    if not merges:
        where = "the revisions this change adds have" if run.scope is not None else "the history has"
        run.summaries[NAME] = f"{where} no merge revision: nothing to check"
        return []
    findings: list[Finding] = []
    tried = 0
    applied = [merge for merge in merges if not proven(run, build, merge)]
    for number, merge in enumerate(applied, start=1):
        run.progress.step(NAME, number - 1, len(applied), merge.revision.revision)
        findings += _judge(run, build, order, merge)
        tried += len(merge.orders)
    run.summaries[NAME] = _summary(len(merges), len(merges) - len(applied), tried)
    return findings


def _summary(merges: int, proven_count: int, tried: int) -> str:
    orders = f"their branches applied in {tried} other order(s) besides the build's"
    if not proven_count:
        return f"{merges} merge revision(s); {orders}"
    if proven_count == merges:
        return f"{merges} merge revision(s), all proven order-independent from what each branch touched"
    return (f"{merges} merge revision(s): {proven_count} proven order-independent from what each branch "
            f"touched; of the other {merges - proven_count}, {orders}")


def _judge(run: Run, build: Build, order: list[Script], merge: Merge) -> list[Finding]:
    findings = _untried_note(merge)
    offset = len(order) - len(build.walked)
    checkpoints = build.checkpoints or Checkpoints()
    copy = checkpoints.copies.get(merge.start - offset)
    expected = checkpoints.states.get(merge.at - offset)
    if copy is None:
        # The build kept none (a pull request whose branches begin in its base, or branches
        # the files said were apart and the measurement found meeting): one built here,
        # cloned for each use but the last.
        copy = _built_before(run, order, merge)
    if expected is None:
        # The build applied something the merge does not stand on in between: the order it
        # used, less that, is applied here too.
        expected, failed = _apply(run, copy, merge.ours)
        if failed is not None:
            raise failed  # the build ran these very revisions in this order
    reported: set[str] = set()
    for number, (heads_order, revisions) in enumerate(merge.orders, start=1):
        found, failed = _apply(run, copy, revisions, last=number == len(merge.orders))
        if failed is not None:
            findings.append(_fails(merge, heads_order, revisions, failed))
            continue
        findings += _differences(merge, heads_order, expected, found, reported)
    return findings


def _apply(run: Run, copy: str, revisions: list[Script],
           last: bool = False) -> tuple[State | None, MigrationError | None]:
    """`revisions` applied on a clone of `copy` (everything before the merge's first branch
    revision): the state just after the last of them, or the error that stopped them. The
    `last` use of `copy` applies them on the copy itself."""
    with _before_branches(run, copy, last) as db:
        try:
            run.project.run_steps(db, revisions, upgrade=True)
        except MigrationError as exc:
            return None, exc
        with run.server.connect(db.name) as conn:
            return State(snapshot_of(conn, run.version_table), rows.counts(conn, run.version_table)), None


@contextlib.contextmanager
def _before_branches(run: Run, copy: str, last: bool):
    """A database with everything the build applied before the merge's first branch
    revision: a clone of `copy`, or for the `last` use `copy` itself."""
    with run.as_work_database(copy, NAME) if last else run.work_database(NAME, template=copy) as db:
        yield db


def _built_before(run: Run, order: list[Script], merge: Merge) -> str:
    """A database with everything before the merge's first branch revision, applied here."""
    with run.work_database(NAME) as db:
        run.project.bootstrap(db)
        if merge.start:
            run.project.run_steps(db, order[:merge.start], upgrade=True)
    return db.name


def _label(merge: Merge, heads_order: tuple[int, ...]) -> str:
    names = [merge.heads[i].revision for i in heads_order]
    if len(names) == 2:
        return f"{names[0]}'s branch first"
    return "the branches of " + ", ".join(names) + " in that order"


def _ours(merge: Merge) -> str:
    """The build's order, by the order its branch heads came in."""
    position = {script.revision: i for i, script in enumerate(merge.ours)}
    heads_order = tuple(sorted(range(len(merge.heads)), key=lambda i: position[merge.heads[i].revision]))
    return f"a fresh database ({_label(merge, heads_order)})"


def _name(script: Script) -> str:
    return f"{script.revision} ({Path(script.path).name})"


def _hint(merge: Merge) -> str:
    heads = " and ".join(head.revision for head in merge.heads)
    return (f"make the branches of {heads} independent: if one needs what the other does, say so "
            "with depends_on in its first revision (every database then applies them in one "
            "order); if both change the same object, change it once, in one branch or in the "
            f"merge revision {merge.revision.revision}")


def _differences(merge: Merge, heads_order: tuple[int, ...], expected: State, found: State,
                 reported: set[str]) -> list[Finding]:
    other = f"one that got {_label(merge, heads_order)}"
    differences = [(diff.object, diff.message) for diff in schema_differences(
        expected.schema, found.schema, expected_label=_ours(merge), actual_label=other)]
    if not differences:
        # One schema, and the rows the two orders left in it.
        for table in sorted(expected.rows.keys() | found.rows.keys()):
            before, after = expected.rows.get(table, 0), found.rows.get(table, 0)
            shown = f"table {table.removeprefix('public.')}"
            if before != after:
                differences.append((shown, f"{shown}: {before} row(s) in {_ours(merge)}, {after} in {other}"))
    findings = []
    heads = " and ".join(_name(head) for head in merge.heads)
    for obj, message in differences:
        if obj in reported:
            continue  # the same object differs in another order too: named once
        reported.add(obj)
        findings.append(Finding(
            Severity.ERROR, "merge-order-differs",
            f"the branches of {heads} build another schema at merge {_name(merge.revision)} in "
            f"another order, as a database that had one before the other arrived gets them: {message}",
            revision=merge.revision.revision, object=obj, file=merge.revision.path,
            line=def_line(merge.revision.path, "upgrade"), hint=_hint(merge)))
    return findings


def _fails(merge: Merge, heads_order: tuple[int, ...], revisions: list[Script],
           exc: MigrationError) -> Finding:
    """An order whose upgrade failed: named with the revisions the build had applied before
    the failing one and this order had not (what it stands on without saying so)."""
    failed_at = next((i for i, s in enumerate(revisions) if s.revision == exc.revision), len(revisions))
    before_here = {s.revision for s in revisions[:failed_at]}
    ours = [s.revision for s in merge.ours]
    earlier = ours[:ours.index(exc.revision)] if exc.revision in ours else ours
    missing = [s for s in merge.ours if s.revision in earlier and s.revision not in before_here]
    ahead = (f"there it runs before {', '.join(_name(s) for s in missing)}, which a fresh database applies "
             "first" if missing else "there the revisions before it came in another order")
    return Finding(
        Severity.ERROR, "merge-order-fails",
        f"upgrade of {exc.revision} ({Path(exc.path).name}) fails on a database that gets the branches "
        f"merged by {_name(merge.revision)} with {_label(merge, heads_order)}, as one that had "
        f"{merge.heads[heads_order[0]].revision} before the others arrived does: {ahead}: {exc.db_error}",
        revision=exc.revision, object=missing[0].revision if missing else merge.revision.revision,
        file=exc.path, line=exc.line or (def_line(exc.path, "upgrade") if exc.path else None),
        hint=_hint(merge))


def _untried_note(merge: Merge) -> list[Finding]:
    if not merge.untried:
        return []
    named = "; ".join(" then ".join(merge.heads[i].revision for i in heads_order)
                      for heads_order in merge.untried)
    more = merge.untried_count - len(merge.untried)
    return [Finding(
        Severity.INFO, "merge-order-untried",
        f"merge {_name(merge.revision)} joins {len(merge.heads)} branches: {len(merge.orders)} other "
        f"orders were applied, {merge.untried_count} were not (branch heads in order): {named}"
        + (f", and {more} more" if more > 0 else ""),
        revision=merge.revision.revision)]
