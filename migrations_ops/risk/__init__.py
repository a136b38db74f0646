"""Risk of a plan on its live target: locks from the parse tree, live table figures, levels with reasons.

``assess_target(conn, sql, findings)`` is the one call the portal makes;
``locks``, ``live``, ``assess`` and ``grouping`` hold the parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..target import TargetConn
from .assess import (
    CRITICAL,
    DEFAULT_THRESHOLDS,
    HIGH,
    LEVELS,
    LOW,
    MODERATE,
    PlanRisk,
    Thresholds,
    assess_plan,
    worst,
)
from .live import DEFAULT_SAMPLE_SECONDS, TableStats, read_table_stats
from .locks import plan_locks

__all__ = ["CRITICAL", "HIGH", "LEVELS", "LOW", "MODERATE", "PlanRisk", "TableStats", "Thresholds",
           "assess_target", "worst"]


def assess_target(
    target: TargetConn,
    sql_text: str,
    findings: Iterable[Mapping[str, Any]] = (),
    *,
    sample_seconds: float = DEFAULT_SAMPLE_SECONDS,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> PlanRisk:
    """Assess a plan's SQL on the live ``target``: locks, live table figures, findings -> risk.

    :param target: where the plan will run (read only, one diagnostic connection).
    :param sql_text: the plan's offline SQL.
    :param findings: the plan's safety findings (their JSON).
    :param sample_seconds: time between the two write-rate readings.
    """
    locks = plan_locks(sql_text)
    created = {lk.table for lk in locks if lk.work == "create"}
    stats = read_table_stats(target, sorted({lk.table for lk in locks} - created), sample_seconds=sample_seconds)
    return assess_plan(locks, stats, findings, thresholds=thresholds)
