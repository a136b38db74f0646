"""The end-of-copy summary, shaped like pgloader's: tables, then phases, then the total."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    mapping: tuple[tuple[str, str], ...] = ()
    """``(source table, target table)`` as the one name rule paired them."""
    skipped: tuple[SkippedObject, ...] = ()
    """What the copy left behind (views, triggers, internal, virtual and skipped tables), with rows and advice."""

    @property
    def rows_not_copied(self) -> int:
        """Rows of skipped tables that exist nowhere else in the file (skipped tables, contentful FTS)."""
        return sum(o.rows or 0 for o in self.skipped if o.loses_rows)

    @property
    def total_seconds(self) -> float:
        return sum(s for _, s in self.phases)

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
    lines += format_skipped(s.skipped)
    return "\n".join(lines)
