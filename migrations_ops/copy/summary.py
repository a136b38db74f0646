"""The end-of-copy summary, shaped like pgloader's: tables, then phases, then the total."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import psycopg

from .skipped import SkippedObject, format_skipped
from .sqlfiles import q


@dataclass(frozen=True, slots=True)
class TableSummary:
    table: str
    read: int
    imported: int
    rejected: int
    seconds: float
    ranges: int


@dataclass(frozen=True, slots=True)
class ForeignKeyReport:
    """A foreign key put back after the load: validated, or left NOT VALID with its orphans counted."""

    table: str
    name: str
    orphans: int
    validated: bool
    sample_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CopySummary:
    copy_id: str
    tables: tuple[TableSummary, ...]
    phases: tuple[tuple[str, float], ...]
    foreign_keys: tuple[ForeignKeyReport, ...] = ()
    sequences: tuple[tuple[str, str, int | None], ...] = ()
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    rejects_by_table: dict[str, dict[str, int]] = field(default_factory=dict)
    mapping: tuple[tuple[str, str], ...] = ()
    """``(source table, target table)`` as the one name rule paired them."""
    skipped: tuple[SkippedObject, ...] = ()
    """What the copy left behind (views, triggers, internal, virtual and skipped tables), with rows and advice."""
    duplicated: dict[str, int] = field(default_factory=dict)
    """Non-empty keyless target tables appended to (``append_duplicates``): table -> rows held before."""

    @property
    def rows_not_copied(self) -> int:
        """Rows of skipped tables that exist nowhere else in the file (skipped tables, contentful FTS)."""
        return sum(o.rows or 0 for o in self.skipped if o.loses_rows)

    @property
    def total_seconds(self) -> float:
        return sum(s for _, s in self.phases)

    @property
    def rows_read(self) -> int:
        return sum(t.read for t in self.tables)

    @property
    def outcome(self) -> tuple[str, str]:
        """The copy's verdict and why: ``succeeded``, ``succeeded_rejects`` or ``failed``.

        A copy succeeded only when every row it read is in the target; any
        reject makes it ``succeeded_rejects``, and a copy that imported nothing
        of a non-empty source failed (e.g. every row a duplicate of one the
        target already held), whatever the phases say.

        >>> s = CopySummary("c", (TableSummary("t", 3, 0, 3, 0.1, 1),), (), rejects_by_table={"t": {"duplicate_key": 3}})
        >>> s.outcome
        ('failed', '0 of 3 rows imported: all rejected as duplicate keys (the target already held them)')
        """
        read, imported, rejected = self.rows_read, self.rows_imported, self.rows_rejected
        codes: dict[str, int] = {}
        for per_code in self.rejects_by_table.values():
            for code, n in per_code.items():
                codes[code] = codes.get(code, 0) + n
        reasons = ", ".join(f"{code} {n:,}" for code, n in sorted(codes.items(), key=lambda kv: -kv[1]))
        if read and not imported:
            why = (" as duplicate keys (the target already held them)" if set(codes) == {"duplicate_key"}
                   else f" ({reasons})" if reasons else "")
            return "failed", f"0 of {read:,} rows imported: all rejected{why}"
        dup = ("; appended into tables with no key that already held rows (if_not_empty=append_duplicates), "
               "their rows may now be there twice: " + ", ".join(f"{n} ({r:,} rows held)"
                                                            for n, r in sorted(self.duplicated.items()))
               if self.duplicated else "")
        if rejected or imported != read:
            return "succeeded_rejects", f"{imported:,} of {read:,} rows imported, {rejected:,} rejected" + (
                f" ({reasons})" if reasons else "") + dup
        if dup:  # amber, never green: the target now holds more than the file
            return "succeeded_rejects", f"all {read:,} rows imported" + dup
        return "succeeded", f"all {read:,} rows imported"

    @property
    def rows_imported(self) -> int:
        return sum(t.imported for t in self.tables)

    @property
    def rows_rejected(self) -> int:
        return sum(t.rejected for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["total_seconds"] = self.total_seconds
        d["rows_not_copied"] = self.rows_not_copied
        return d


def table_summaries(conn: psycopg.Connection, copy_id: str) -> tuple[TableSummary, ...]:
    """Per table totals from the committed checkpoints."""
    rows = conn.execute(q("copy_table_summaries"), {"copy_id": copy_id}).fetchall()
    return tuple(TableSummary(r[0], int(r[1]), int(r[2]), int(r[3]), float(r[4]), int(r[5])) for r in rows)


def skipped_of(conn: psycopg.Connection, copy_id: str) -> tuple[SkippedObject, ...]:
    """What ``plan_ranges`` recorded as left behind by the copy (empty for copies planned before it did)."""
    row = conn.execute(q("copy_run_skipped"), {"copy_id": copy_id}).fetchone()
    return tuple(SkippedObject.from_dict(d) for d in (row[0] if row and row[0] else ()))


def rejects_by_reason(conn: psycopg.Connection, copy_id: str) -> dict[str, int]:
    rows = conn.execute(q("copy_rejects_by_reason"), {"copy_id": copy_id}).fetchall()
    return {r[0]: int(r[1]) for r in rows}


POST_LOAD = "post-load"


def with_wall_time(s: CopySummary, marks: Sequence[tuple[str, float]], end: float) -> CopySummary:
    """The summary with phases that add up to the wall time from the first mark to ``end``.

    ``marks`` are (phase, start time) in order; each phase lasts until the next
    one starts. Times come from several processes (claim, range tasks, the
    chord's callback), so each is clamped between its neighbours: a phase is
    never negative and the sum is exactly ``end - marks[0]``. The phase named
    ``post-load`` is split into the engine's own post-load phases (every phase
    of ``s`` but ``copy``) and ``post-load other`` (connecting, checks, the summary).

    >>> s = CopySummary("c", (), (("copy", 5.0), ("indexes", 2.0), ("analyze", 1.0)))
    >>> w = with_wall_time(s, [("queued", 100.0), ("planning", 101.0), ("copy", 103.0), ("post-load", 109.0)], 120.0)
    >>> w.phases
    (('queued', 1.0), ('planning', 2.0), ('copy', 6.0), ('indexes', 2.0), ('analyze', 1.0), ('post-load other', 8.0))
    >>> w.total_seconds
    20.0
    """
    engine_post = [(n, sec) for n, sec in s.phases if n != "copy"]
    starts, mark = [], marks[0][1]
    for _, at in marks:
        mark = min(max(at, mark), end)
        starts.append(mark)
    phases: list[tuple[str, float]] = []
    for i, (name, _) in enumerate(marks):
        span = (starts[i + 1] if i + 1 < len(marks) else end) - starts[i]
        if name != POST_LOAD:
            phases.append((name, span))
            continue
        scale = min(1.0, span / sum(sec for _, sec in engine_post)) if engine_post and span > 0 else 0.0
        phases += [(n, sec * scale) for n, sec in engine_post]
        phases.append((f"{POST_LOAD} other", span - sum(sec * scale for _, sec in engine_post)))
    return replace(s, phases=tuple(phases))


def rejects_by_table(conn: psycopg.Connection, copy_id: str) -> dict[str, dict[str, int]]:
    """Reject records per source table and reason code (``duplicate_key`` split from ``server_refused``)."""
    out: dict[str, dict[str, int]] = {}
    for table, code, n in conn.execute(q("copy_rejects_by_table"), {"copy_id": copy_id}).fetchall():
        out.setdefault(table, {})[code] = int(n)
    return out


def format_rejects(s: CopySummary) -> str:
    """Reject records counted by reason, then per table: what ``ops copy --wait`` prints after the summary.

    >>> print(format_rejects(CopySummary("c", (), (), rejects_by_table={"a": {"not_integer": 2}, "b": {"not_integer": 1, "duplicate_key": 4}})))
    rejects by reason: duplicate_key 4, not_integer 3
      a: not_integer 2
      b: duplicate_key 4, not_integer 1
    """
    if not s.rejects_by_table:
        return "rejects: none"
    total: dict[str, int] = {}
    for per_code in s.rejects_by_table.values():
        for code, n in per_code.items():
            total[code] = total.get(code, 0) + n
    lines = ["rejects by reason: " + ", ".join(f"{c} {n:,}" for c, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))]
    for table, per_code in sorted(s.rejects_by_table.items()):
        lines.append(f"  {table}: " + ", ".join(f"{c} {n:,}" for c, n in sorted(per_code.items(), key=lambda kv: (-kv[1], kv[0]))))
    return "\n".join(lines)


def format_summary(s: CopySummary) -> str:
    """A text table like pgloader's report.

    >>> print(format_summary(CopySummary("c1", (TableSummary("users", 3, 2, 1, 0.5, 1),), (("copy", 0.5), ("analyze", 0.1)))))
    table name                 read   imported   rejected   time (s)
    ------------------------ ------ ---------- ---------- ----------
    users                         3          2          1      0.500
    ------------------------ ------ ---------- ---------- ----------
    copy                                                       0.500
    analyze                                                    0.100
    ------------------------ ------ ---------- ---------- ----------
    Total import time             3          2          1      0.600
    """
    w = max([24] + [len(t.table) for t in s.tables])
    rule = f"{'-' * w} {'-' * 6} {'-' * 10} {'-' * 10} {'-' * 10}"
    lines = [f"{'table name':<{w}} {'read':>6} {'imported':>10} {'rejected':>10} {'time (s)':>10}", rule]
    for t in s.tables:
        lines.append(f"{t.table:<{w}} {t.read:>6} {t.imported:>10} {t.rejected:>10} {t.seconds:>10.3f}")
    lines.append(rule)
    for name, sec in s.phases:
        lines.append(f"{name:<{w}} {'':>6} {'':>10} {'':>10} {sec:>10.3f}")
    lines.append(rule)
    read = sum(t.read for t in s.tables)
    lines.append(f"{'Total import time':<{w}} {read:>6} {s.rows_imported:>10} {s.rows_rejected:>10} {s.total_seconds:>10.3f}")
    for fk in s.foreign_keys:
        state = "validated" if fk.validated else f"NOT VALID, {fk.orphans} orphan rows"
        lines.append(f"foreign key {fk.table}.{fk.name}: {state}")
    lines += [f"table {src} -> {tgt}" for src, tgt in s.mapping]
    lines += [f"DUPLICATED: appended into keyless table {n}, which already held {r:,} rows"
              for n, r in sorted(s.duplicated.items())]
    lines += format_skipped(s.skipped)
    return "\n".join(lines)
