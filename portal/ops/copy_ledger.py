"""Which worker ran which range of a copy, and the ranges a dead worker took with it.

A copy's ranges are separate Celery tasks, so they spread over every worker
consuming the queue, on one host or several. The ledger, in
``run.progress_data["ledger"]``, holds one entry per range: its current task
id and attempt, its state (queued, running, done, failed) and every worker that
ran it. The range specs themselves are in ``run.params["range_specs"]``
(written once, with the plan) so that a lost range can be sent again.

- The task that ends the last range queues ``finish_copy`` (once: a flag in the
  ledger, set under the run row's lock). No Celery chord: a chord never fires
  its callback when one of its tasks is lost with its worker.
- ``requeue_lost`` (the reaper, every beat tick) sends again every range that
  is neither done nor held by the broker's queue or a live worker, confirmed
  by a second look: the SIGKILLed worker's ranges, running or only reserved.
  The target makes it exactly once: a range's rows commit with its checkpoint
  row, a range redone after a commit is skipped, and a twin running at the
  same time waits on that row and then skips (``copy_range`` in the engine).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction

from migrations_ops.copy import RangeSpec

from .models import Run, RunLog

log = logging.getLogger(__name__)

# A range lost this many times fails the run (something kills every worker that takes it).
MAX_ATTEMPTS = 4
# Second look before declaring a range lost: a task between the queue and a worker is briefly in neither.
CONFIRM_SECONDS = 1.5


def range_key(table: str, lo: int) -> str:
    """The key of a range, as in ``progress_data["ranges"]``."""
    return f"{table}|{lo}"


def _task_id(run: Run, index: int, attempt: int) -> str:
    return f"{run.celery_task_id or run.pk}-r{index}-a{attempt}"


def open_ledger(run: Run, specs: list[RangeSpec]) -> list[tuple[str, dict[str, Any]]]:
    """Record the ranges as queued and their specs; returns (task id, spec) to send (writes the DB)."""
    entries: dict[str, dict[str, Any]] = {}
    sends: list[tuple[str, dict[str, Any]]] = []
    spec_dicts: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(specs):
        key = range_key(s.table, s.lo)
        tid = _task_id(run, i, 1)
        entries[key] = {"i": i, "attempt": 1, "task": tid, "state": "queued", "runs": []}
        spec_dicts[key] = s.to_dict()
        sends.append((tid, spec_dicts[key]))
    with transaction.atomic():
        r = Run.objects.select_for_update().only("progress_data", "params").get(pk=run.pk)
        pd = dict(r.progress_data or {})
        pd["ledger"] = {"ranges": entries, "finish_queued": False, "requeued": 0}
        Run.objects.filter(pk=run.pk).update(progress_data=pd, params={**r.params, "range_specs": spec_dicts})
    return sends


def _update(run_id: int, change: Callable[[dict[str, Any], Run], Any]) -> Any:
    with transaction.atomic():
        r = Run.objects.select_for_update().only("progress_data", "status").get(pk=run_id)
        pd = r.progress_data or {}
        ledger = pd.get("ledger")
        if ledger is None:
            return None
        out = change(ledger, r)
        Run.objects.filter(pk=run_id).update(progress_data=pd)
        return out


def range_started(run_id: int, spec: RangeSpec, worker: str, task_id: str | None) -> None:
    """Note that ``worker`` took the range (writes the DB)."""

    def change(ledger: dict[str, Any], _r: Run) -> None:
        e = ledger["ranges"].get(range_key(spec.table, spec.lo))
        if e is None:
            return
        e["runs"].append({"worker": worker, "task": task_id, "at": round(time.time(), 3)})
        if e["state"] != "done":
            e["state"] = "running"
        e["worker"] = worker

    _update(run_id, change)


def range_ended(run_id: int, spec: RangeSpec, worker: str, outcome: str) -> bool:
    """Note the range's end; True when it was the last one and ``finish_copy`` must be queued (writes the DB).

    Idempotent: a range done twice (a lost twin that ran after all) counts once,
    and the finish is claimed by exactly one caller.
    """

    def change(ledger: dict[str, Any], r: Run) -> bool:
        e = ledger["ranges"].get(range_key(spec.table, spec.lo))
        if e is None:
            return False
        if e["state"] != "done":
            e["state"] = "done" if outcome == "done" else "failed"
            e["by"] = worker
        all_done = all(x["state"] == "done" for x in ledger["ranges"].values())
        if all_done and not ledger["finish_queued"] and r.status == Run.Status.RUNNING:
            ledger["finish_queued"] = True
            return True
        return False

    return bool(_update(run_id, change))


def workers_of(run: Run) -> dict[str, list[str]]:
    """Range key -> the workers that ran it, in order (several when a range was sent again)."""
    ledger = (run.progress_data or {}).get("ledger") or {}
    return {k: [x["worker"] for x in e.get("runs", [])] for k, e in ledger.get("ranges", {}).items()}


def _held(task_ids: list[str]) -> set[str] | None:
    """Task ids waiting in the queue or held by a live worker; None when the broker fails or no worker answers."""
    from portal.celery import app

    from . import dispatch

    try:
        replies = app.control.inspect(timeout=1.0).query_task(*task_ids)
        if not replies:
            return None
        found = {tid for tasks in replies.values() for tid in (tasks or {})}
        return found | dispatch._ids_in_queues(set(task_ids))
    except dispatch.BROKER_ERRORS as exc:
        log.warning("cannot ask the broker which copy ranges are alive: %s", exc)
        return None


def requeue_lost(send: Callable[[Run, str, dict[str, Any]], None], fail: Callable[[Run, BaseException], Any],
                 alive: Callable[[list[str]], set[str] | None] | None = None,
                 confirm_seconds: float = CONFIRM_SECONDS) -> list[tuple[int, str]]:
    """Send again the ranges of running copies that no queue and no live worker holds (writes the DB, Redis).

    Steps: 1 every RUNNING copy in its copy phase, its ranges not done; 2 ask the
    broker and the workers which of their task ids they hold; 3 look again after
    ``confirm_seconds`` at the missing ones; 4 under the run row's lock, for a
    range still not done with the same task id: a new attempt, a new task id,
    a log line naming the worker it was lost with, and the task sent after the
    commit. Returns (run id, range key) of every range sent again.

    :param send: sends one range task (``tasks.copy.send_range``); ``fail`` ends a run (``lifecycle.record_failure``).
    """
    alive = alive or _held
    requeued: list[tuple[int, str]] = []
    runs = Run.objects.filter(status=Run.Status.RUNNING, operation=Run.Operation.COPY,
                              progress_data__phase="copy", progress_data__has_key="ledger")
    for run in runs:
        pending = {k: e["task"] for k, e in run.progress_data["ledger"]["ranges"].items()
                   if e["state"] not in ("done", "failed")}
        if not pending:
            continue
        held = alive(list(pending.values()))
        if held is None:
            continue  # the broker cannot be asked, or no worker answers: nothing is declared lost on that
        missing = {k: tid for k, tid in pending.items() if tid not in held}
        if missing and confirm_seconds:
            time.sleep(confirm_seconds)
            held = alive(list(missing.values()))
            if held is None:
                continue
            missing = {k: tid for k, tid in missing.items() if tid not in held}
        if not missing:
            continue
        too_many: list[str] = []
        with transaction.atomic():
            r = Run.objects.select_for_update().get(pk=run.pk)
            if r.status != Run.Status.RUNNING:
                continue
            pd = r.progress_data
            ledger = pd["ledger"]
            for key, tid in missing.items():
                e = ledger["ranges"].get(key)
                if e is None or e["state"] in ("done", "failed") or e["task"] != tid:
                    continue  # it ended, or was sent again, meanwhile
                if e["attempt"] >= MAX_ATTEMPTS:
                    too_many.append(key)
                    continue
                lost_with = e.get("worker") or "the worker that had reserved it (it never started)"
                e["attempt"] += 1
                e["task"] = _task_id(r, e["i"], e["attempt"])
                e["state"] = "queued"
                e.setdefault("lost", []).append({"worker": e.get("worker"), "task": tid, "at": round(time.time(), 3)})
                ledger["requeued"] = ledger.get("requeued", 0) + 1
                spec = r.params["range_specs"][key]
                RunLog.objects.create(run_id=r.pk, level="warning", message=(
                    f"Range {key.replace('|', ' rows from ')} was lost with {lost_with} (its task is held by no "
                    f"queue and no live worker); sent again, attempt {e['attempt']}"))
                transaction.on_commit(lambda r=r, tid=e["task"], spec=spec: send(r, tid, spec))
                requeued.append((r.pk, key))
            Run.objects.filter(pk=r.pk).update(progress_data=pd)
        if too_many:
            fail(r, RuntimeError(
                f"range(s) {', '.join(too_many)} were lost with their worker {MAX_ATTEMPTS} times; "
                "the copy stays open: resume or abandon it"))
    if requeued:
        log.warning("copy ranges sent again after their worker was lost: %s", requeued)
    return requeued

