"""What pages and the CLI show of a copy: live figures, rejects (also as CSV), the pre-flight in short."""

from __future__ import annotations

import json
import time
from typing import Any

from migrations_ops import copy as engine

from .models import Run


def _rate(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else 0.0


def live_figures(run: Run, at: float | None = None) -> dict[str, Any]:
    """Per table and overall: rows done / total, percent, rows/s, MB/s, ETA (pure; from run.progress_data)."""
    pd = run.progress_data or {}
    at = at or time.time()
    active = run.is_active
    rows = []
    for name, t in (pd.get("tables") or {}).items():
        total, done = int(t.get("total") or 0), int(t.get("done") or 0)
        finished = t.get("ranges_done", 0) >= t.get("ranges", 1) and t.get("ranges")
        t0 = t.get("t0")
        span = ((t.get("t1") or at) if (finished or not active) else at) - t0 if t0 else 0.0
        rps = _rate(done, span)
        state = "done" if finished else ("running" if t0 else "waiting")
        rows.append({
            "table": name, "done": done, "total": max(total, done), "copied": int(t.get("copied") or 0),
            "rejected": int(t.get("rejected") or 0), "ranges": t.get("ranges", 0), "ranges_done": t.get("ranges_done", 0),
            "percent": 100 if finished else (min(99, int(100 * done / total)) if total else 0),
            "rows_per_s": round(rps), "mb_per_s": round(_rate(int(t.get("bytes") or 0), span) / 1e6, 2),
            "eta_s": round((total - done) / rps) if rps and not finished and total > done else None,
            "state": state if active or finished else "stopped",
        })
    total = sum(r["total"] for r in rows)
    done = sum(r["done"] for r in rows)
    started = pd.get("started")
    last = max([t.get("t1") or 0 for t in (pd.get("tables") or {}).values()] or [0])
    span = ((at if active else last or at) - started) if started else 0.0
    rps = _rate(done, span)
    all_done = bool(rows) and all(r["state"] == "done" for r in rows)
    return {
        "copy_id": pd.get("copy_id"), "phase": pd.get("phase", ""), "tables": rows,
        "overall": {
            "done": done, "total": total, "percent": 100 if all_done else (min(99, int(100 * done / total)) if total else 0),
            "rows_per_s": round(rps), "mb_per_s": round(_rate(sum(int(t.get("bytes") or 0) for t in (pd.get("tables") or {}).values()), span) / 1e6, 2),
            "eta_s": round((total - done) / rps) if rps and active and total > done else None,
        },
        "summary": pd.get("summary"), "summary_text": pd.get("summary_text", ""),
        "verify_run_id": pd.get("verify_run_id"),
    }


def rejects(run: Run, table: str | None = None, limit: int | None = 500):
    """The copy's rejected rows and replacement warnings, read from the target (connects to it)."""
    return engine.list_rejects(run.target.conn(), run.params["copy_id"], table or None, limit)


def rejects_csv_rows(run: Run, table: str | None = None):
    """CSV lines of every reject of the copy (or of one table), header first (connects to the target)."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["source_table", "target_table", "key", "column", "value_hex", "reason", "created_at"])
    yield buf.getvalue()
    names = target_table_names(run)
    for r in rejects(run, table, limit=None):
        buf.seek(0)
        buf.truncate()
        w.writerow([r.table, names.get(r.table, ""), r.key, r.column or "", r.value_hex, r.reason, r.created_at])
        yield buf.getvalue()


def target_table_names(run: Run) -> dict[str, str]:
    """Source table -> target table of a copy run, as the one name rule paired them (summary, else plan)."""
    summary = (run.progress_data or {}).get("summary") or {}
    pairs = summary.get("mapping") or ((run.params or {}).get("preflight") or {}).get("mapping") or []
    return {str(src): str(tgt) for src, tgt in pairs if tgt}


def preflight_summary(report) -> dict[str, Any]:
    """What the run keeps of the pre-flight the DBA confirmed (JSON)."""
    return json.loads(json.dumps({
        "integrity_ok": report.integrity_ok, "problems": list(report.problems)[:50],
        "rows": {t.name: t.rows for t in report.tables}, "skipped": [list(s) for s in report.skipped],
        "orphans": len(report.fk_orphans), "non_empty_tables": [list(t) for t in report.non_empty_tables],
        "predicted_rejects": [[p.table, p.column, p.code, p.values] for t in report.tables if t.predicted
                              for p in t.predicted.rejects][:200],
        "mapping": [list(m) for m in report.mapping], "not_copied": [o.to_dict() for o in report.not_copied],
    }, default=str))
