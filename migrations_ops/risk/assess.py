"""Risk of a plan on its live target: per step and for the whole plan, low / moderate / high / critical.

A statement's risk is what it does to a table (the lock and the work under
it, ``locks.plan_locks``) weighed by the table as it is now
(``live.read_table_stats``): ``ALTER COLUMN TYPE`` rewrites a 12 M-row table
that 37 sessions use is critical; the same statement on an empty table, or
on a table created earlier in the same plan, is low. Danger findings of the
safety review count too. Every level comes with the reasons that set it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from .live import TableStats
from .locks import ACCESS_EXCLUSIVE, ALL_ROWS, CREATE, DROP, METADATA, REWRITE, SCAN, StatementLock

LOW, MODERATE, HIGH, CRITICAL = "low", "moderate", "high", "critical"
LEVELS = (LOW, MODERATE, HIGH, CRITICAL)


def worst(levels: Iterable[str]) -> str:
    """The highest of ``levels`` (low when there are none).

    >>> worst(["low", "high", "moderate"])
    'high'
    """
    return max(levels, key=LEVELS.index, default=LOW)


def _bump(level: str, by: int = 1) -> str:
    return LEVELS[min(len(LEVELS) - 1, LEVELS.index(level) + by)]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where a table stops being small: rows or bytes, whichever is reached first."""

    medium_rows: int = 10_000
    medium_bytes: int = 100 * 1024**2
    big_rows: int = 1_000_000
    big_bytes: int = 1024**3


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a step got its level; ``table`` is empty for reasons about the step as a whole."""

    level: str
    text: str
    table: str = ""
    rule: str = ""


@dataclass(frozen=True, slots=True)
class StepRisk:
    revision: str | None
    level: str
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanRisk:
    """What gets approved: the level, its reasons, and the live figures they rest on."""

    level: str
    steps: tuple[StepRisk, ...]
    tables: tuple[TableStats, ...] = ()
    created_tables: tuple[str, ...] = ()
    locks: tuple[StatementLock, ...] = field(default=(), repr=False)

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Every step's reasons, the gravest first."""
        all_ = [r for s in self.steps for r in s.reasons]
        return tuple(sorted(all_, key=lambda r: -LEVELS.index(r.level)))

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "steps": [{"revision": s.revision, "level": s.level, "reasons": [asdict(r) for r in s.reasons]}
                      for s in self.steps],
            "reasons": [asdict(r) for r in self.reasons],
            "tables": [t.to_json() for t in self.tables],
            "created_tables": list(self.created_tables),
            "locks": [lk.to_json() for lk in self.locks],
        }


def human_count(n: float) -> str:
    """
    >>> human_count(12_300_000), human_count(950), human_count(45_000)
    ('12.3 M', '950', '45 k')
    """
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    if n >= 1e4:
        return f"{n / 1e3:.0f} k"
    return f"{int(n)}"


def human_bytes(n: float) -> str:
    """
    >>> human_bytes(4.1 * 1024**3), human_bytes(8192)
    ('4.1 GB', '8.0 kB')
    """
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("kB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 10 * size else f"{n / size:.0f} {unit}"
    return f"{int(n)} B"


def _figures(lock: StatementLock, t: TableStats) -> str:
    parts = [f"{human_count(t.rows)} rows", human_bytes(t.total_bytes), lock.lock]
    if t.sessions:
        parts.append(f"{t.sessions} session{'s' if t.sessions != 1 else ''} use{'s' if t.sessions == 1 else ''} it now")
    if t.writes_per_s:
        parts.append(f"{t.writes_per_s:g} writes/s")
    return ", ".join(parts)


def _size(t: TableStats, th: Thresholds) -> int:
    """0 empty, 1 small, 2 medium, 3 big."""
    if t.rows >= th.big_rows or t.total_bytes >= th.big_bytes:
        return 3
    if t.rows >= th.medium_rows or t.total_bytes >= th.medium_bytes:
        return 2
    return 1 if t.rows > 0 else 0


_VERB = {REWRITE: "rewrites", SCAN: "scans", ALL_ROWS: "writes every row of", DROP: "deletes the data of",
         METADATA: "changes", CREATE: "creates"}


def statement_risk(lock: StatementLock, t: TableStats | None, th: Thresholds = DEFAULT_THRESHOLDS) -> Reason | None:
    """The level one statement earns on one live table, with its figures; None when it is low and unremarkable."""
    if t is None:
        return None
    size, busy = _size(t, th), bool(t.sessions or t.writes_per_s)
    head = f"{lock.what} {_VERB.get(lock.work, 'touches')} {lock.table}"
    if lock.column:
        head += f" ({lock.column})"
    text = f"{head}: {_figures(lock, t)}"
    if lock.work == DROP:
        level = (LOW, HIGH, HIGH, CRITICAL)[size]
    elif lock.work in (REWRITE, ALL_ROWS) or (lock.work == SCAN and lock.blocks_writes):
        level = (LOW, LOW, MODERATE, HIGH)[size]
        if busy and size:
            level = _bump(level)
    elif lock.work == SCAN:  # SHARE UPDATE EXCLUSIVE: writes go on, it only takes long
        level = (LOW, LOW, LOW, MODERATE)[size]
    elif lock.lock == ACCESS_EXCLUSIVE and busy:
        level = MODERATE  # instant, but it queues behind every open session and every reader queues behind it
        text += "; it waits for them and blocks every reader while it waits"
    else:
        return None
    if level == LOW and size == 0:
        return None
    return Reason(level, text, lock.table)


def assess_plan(
    locks: Iterable[StatementLock],
    stats: Mapping[str, TableStats],
    findings: Iterable[Mapping[str, Any]] = (),
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> PlanRisk:
    """Weigh every statement of a plan on the live tables; returns the plan's level and each step's.

    Steps: 1 walk the statements in plan order, remembering tables the plan
    creates (any later statement on them is low), 2 rate each on its table's
    live figures, 3 add danger findings of the safety review (at least
    moderate), 4 a step's level is its worst reason, the plan's its worst step.

    :param locks: ``locks.plan_locks(plan.sql)``.
    :param stats: ``live.read_table_stats`` of the tables in ``locks``.
    :param findings: the safety findings (their JSON) of the same plan.
    """
    locks = tuple(locks)
    created: list[str] = []
    per_step: dict[str | None, list[Reason]] = {}
    order: list[str | None] = []
    for lock in locks:
        if lock.revision not in per_step:
            per_step[lock.revision] = []
            order.append(lock.revision)
        if lock.table in created:
            continue
        if lock.work == CREATE:
            created.append(lock.table)
            continue
        reason = statement_risk(lock, stats.get(lock.table), thresholds)
        if reason is not None:
            per_step[lock.revision].append(reason)
    for f in findings:
        if f.get("level") != "danger" or f.get("statement") and _on_created(f["statement"], created):
            continue
        rev = f.get("revision")
        if rev not in per_step:
            per_step[rev] = []
            order.append(rev)
        per_step[rev].append(Reason(MODERATE, f"{f.get('rule')}: {f.get('message')}", rule=str(f.get("rule"))))
    steps = tuple(
        StepRisk(rev, worst(r.level for r in per_step[rev]),
                 tuple(sorted(per_step[rev], key=lambda r: -LEVELS.index(r.level))))
        for rev in order
    )
    touched = sorted({lk.table for lk in locks if lk.table not in created and lk.table in stats})
    return PlanRisk(worst(s.level for s in steps), steps, tuple(stats[t] for t in touched), tuple(created), locks)


def _on_created(statement: str, created: list[str]) -> bool:
    """Whether a finding's statement names a table this plan created (then it endangers nothing yet)."""
    from .locks import statement_locks

    try:
        from pglast import parse_sql

        parsed = parse_sql(statement)
    except Exception:  # noqa: BLE001 - a statement we cannot parse is kept as a finding
        return False
    tables = {row[0] for raw in parsed for row in statement_locks(raw.stmt)}
    return bool(tables) and tables <= set(created)
