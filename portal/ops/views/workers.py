"""The Workers page: every Celery worker, its queues, environment fingerprint, versions and current runs.

Asked live with Celery's inspect (a broadcast answered within ``TIMEOUT``
seconds); ``mop_fingerprint`` is the portal's own inspect command
(``worker_fingerprint``), so a worker whose environment changed since it
started shows it here before a run fails on it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from ..models import Run

TIMEOUT = 1.0


def inspect_workers(timeout: float = TIMEOUT) -> tuple[list[dict[str, Any]], str | None]:
    """One row per worker that answered; the error text when the broker cannot be reached."""
    from portal.celery import app

    try:
        inspect = app.control.inspect(timeout=timeout)
        queues = inspect.active_queues() or {}
        active = inspect.active() or {}
        prints = inspect._request("mop_fingerprint") or {}
    except Exception as exc:  # noqa: BLE001 - a broker outage is shown, never a 500
        return [], f"{type(exc).__name__}: {exc}"
    names = sorted(set(queues) | set(active) | set(prints))
    run_ids = [int(t["args"][0]) for tasks in active.values() for t in tasks
               if t.get("args") and str(t["args"][0]).isdigit()]
    runs = {r.pk: r for r in Run.objects.filter(pk__in=run_ids).select_related("target")}
    rows = []
    for name in names:
        fp = prints.get(name) or {}
        tasks = []
        for t in active.get(name, []):
            arg = t.get("args") or [None]
            run = runs.get(int(arg[0])) if str(arg[0]).isdigit() else None
            tasks.append({"name": t.get("name"), "run": run, "id": t.get("id")})
        rows.append({
            "name": name, "queues": [q.get("name") for q in queues.get(name, [])], "fingerprint": fp,
            "stale": bool(fp.get("changed")), "tasks": tasks,
        })
    return rows, None


def workers_page(model_admin, request):
    if not request.user.has_perm("ops.view_run"):
        raise PermissionDenied
    rows, error = inspect_workers()
    ctx = {
        **model_admin.admin_site.each_context(request), "opts": Run._meta, "title": "Workers",
        "workers": rows, "error": error, "timeout": TIMEOUT,
    }
    return TemplateResponse(request, "admin/ops/run/workers.html", ctx)
