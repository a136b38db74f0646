"""How a copy run ends: its verdict, its wall-time phases, and the rejects counted by reason.

``copy_worker.record_succeeded`` used to end every finished copy SUCCEEDED, so a
second copy of the same file that imported nothing (every row a duplicate
key) was green. The verdict now comes from the engine's summary
(``CopySummary.outcome``): ``succeeded`` only when every row read is in the
target, ``succeeded_rejects`` (amber) with any reject, ``failed`` when
nothing was imported from a non-empty source. The summary's phases are
rebuilt from the run's own time stamps so that they add up to its wall time
(queued, planning, waiting for workers, copy, post-load), not only the
engine's share of it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from migrations_ops.copy import CopySummary, with_wall_time

from .models import Run

NOTHING_IMPORTED = "copy_nothing_imported"
NOTHING_IMPORTED_EXPLANATION = (
    "The copy read rows from the source but none of them is in the target: every one was rejected. When they "
    "were all duplicate keys, the target already held these rows (a second copy of the same file): copy again "
    "with if_not_empty=truncate to replace them, or leave the target as it is. Otherwise the rejects page "
    "(or 'ops rejects RUN_ID') names each row and why."
)
STATUS_OF = {"succeeded": Run.Status.SUCCEEDED, "succeeded_rejects": Run.Status.SUCCEEDED_REJECTS,
             "failed": Run.Status.FAILED}


def _ts(dt: datetime | None) -> float | None:
    return dt.timestamp() if dt else None


def wall_time_summary(run: Run, summary: CopySummary, end: float) -> CopySummary:
    """The summary with phases from the run's time stamps, adding up to ``end - created_at`` (pure).

    Marks, in order: created (queued until a worker claims it), started
    (planning), ``progress_data.started`` (plan stored: waiting for range
    workers), the first range's start (copy), the last range's end (waiting for
    the chord's callback), ``progress_data.finish_started`` (post-load).
    """
    pd = run.progress_data or {}
    tables = (pd.get("tables") or {}).values()
    starts, ends = [t["t0"] for t in tables if t.get("t0")], [t["t1"] for t in tables if t.get("t1")]
    first, last = (min(starts) if starts else None), (max(ends) if ends else None)
    created = _ts(run.created_at) or end
    planned = pd.get("started")
    marks = [("queued", created), ("planning", _ts(run.started_at) or created),
             ("waiting for workers", planned or created), ("copy", first or planned or created),
             ("waiting for post-load", last or planned or created), ("post-load", pd.get("finish_started") or end)]
    return with_wall_time(summary, marks, end)


def verdict(run: Run, summary: CopySummary) -> tuple[str, dict[str, Any]]:
    """The run status and the fields to write with it, from the summary's outcome (pure)."""
    outcome, message = summary.outcome
    status = STATUS_OF[outcome]
    if status != Run.Status.FAILED:
        return status, {}
    return status, {"error": message, "error_code": NOTHING_IMPORTED, "error_explanation": NOTHING_IMPORTED_EXPLANATION,
                    "error_data": {"rows_read": summary.rows_read, "rows_rejected": summary.rows_rejected,
                                   "rejects_by_table": summary.rejects_by_table}}


def now_pair() -> tuple[float, datetime]:
    """One instant as epoch seconds (phases) and as the aware datetime written to ``finished_at``."""
    end = time.time()
    return end, datetime.fromtimestamp(end, tz=UTC)


def rejects_by_reason(summary_data: dict[str, Any] | None) -> dict[str, int]:
    """Reject records per reason code over all tables, from a stored summary dict (pure)."""
    total: dict[str, int] = {}
    for per_code in ((summary_data or {}).get("rejects_by_table") or {}).values():
        for code, n in per_code.items():
            total[code] = total.get(code, 0) + int(n)
    return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))
