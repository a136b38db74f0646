"""Labels a DBA reads instead of internal codes: problem codes, audit actions, run and event parameters."""

from __future__ import annotations

from typing import Any

PROBLEMS = {
    "not_up_to_date": "Behind head",
    "no_version_table": "Never migrated",
    "multiple_heads": "Multiple heads",
    "revision_not_found": "Unknown revision",
    "ambiguous_revision": "Ambiguous revision",
    "target_unreachable": "Unreachable",
    "database_not_found": "No such database",
    "authentication_failed": "Login refused",
    "tls_failed": "TLS failed",
    "project_not_found": "Scripts not found",
}

ACTIONS = {
    "run.scheduled": "scheduled a run",
    "run.started": "started a run",
    "run.finished": "finished a run",
    "run.cancel_requested": "asked to cancel a run",
    "run.interrupted": "marked a run interrupted",
    "run.lock_retry": "retried a run after a lock timeout",
    "run.dispatch_failed": "could not hand a run to a worker",
    "run.orphan_reaped": "reaped a run no worker held",
    "run.copy_abandoned": "abandoned a copy",
    "run.copy_truncated": "emptied target tables before a copy",
    "target.created": "registered a target",
    "target.changed": "changed a target's settings",
    "locks.snapshot_taken": "took a lock snapshot",
    "backend.cancelled": "cancelled a backend's query",
    "backend.terminated": "terminated a backend",
    "login.locked_out": "was locked out after failed logins",
    "login.unlocked": "unlocked a login",
    "audit.exported": "exported audit events",
}

PARAMS = {
    "lock_timeout_ms": ("Lock timeout", "ms"),
    "statement_timeout_ms": ("Statement timeout", "ms"),
    "lock_retries": ("Retries on lock timeout", ""),
    "requested": ("Revision asked for", ""),
    "steps": ("Steps planned", ""),
    "steps_done": ("Steps done", ""),
    "steps_total": ("Steps planned", ""),
    "project_fingerprint": ("Scripts fingerprint", ""),
    "findings": ("Safety findings", ""),
    "worker": ("Worker", ""),
    "snapshot_id": ("Snapshot", ""),
    "root_blockers": ("Root blockers", ""),
    "blocked": ("Sessions blocked", ""),
    "source": ("Source file", ""),
    "source_size": ("Source size", "bytes"),
    "copy_id": ("Copy id", ""),
    "tables": ("Tables", ""),
    "changed": ("Fields changed", ""),
    "pid": ("Backend pid", ""),
    "reason": ("Reason", ""),
}


def problem_label(code: str) -> str:
    """
    >>> problem_label("not_up_to_date"), problem_label("some_new_code")
    ('Behind head', 'Some new code')
    """
    return PROBLEMS.get(code) or code.replace("_", " ").capitalize()


def action_words(action: str) -> str:
    """
    >>> action_words("run.scheduled"), action_words("drift.accepted")
    ('scheduled a run', 'drift accepted')
    """
    return ACTIONS.get(action) or action.replace(".", " ").replace("_", " ")


def value_words(key: str, value: Any) -> str:
    """A parameter's value in words: yes/no, counts by level, lists joined, units.

    >>> value_words("confirmed", False)
    'no (the confirm page did not ask for it: only downgrades and production targets need it)'
    >>> value_words("findings", {"danger": 1, "warning": 2}), value_words("lock_timeout_ms", 1000)
    ('1 danger, 2 warning', '1000 ms')
    """
    if key == "confirmed":
        return "yes, typed back" if value else (
            "no (the confirm page did not ask for it: only downgrades and production targets need it)")
    if value is None or value == "" or value == [] or value == {}:
        return "—" if key != "findings" else "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{v} {k}" if key == "findings" else f"{k}: {value_words(k, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    unit = PARAMS.get(key, ("", ""))[1]
    return f"{value} {unit}".strip()


def param_items(params: dict | None) -> list[tuple[str, str]]:
    """(label, words) for each parameter, the known ones first in a fixed order.

    >>> param_items({"confirmed": True, "lock_retries": 3, "weird_key": "x"})
    [('Retries on lock timeout', '3'), ('Target name typed back', 'yes, typed back'), ('Weird key', 'x')]
    """
    params = params or {}
    order = [*PARAMS, "confirmed"]
    keys = sorted(params, key=lambda k: (order.index(k) if k in order else len(order), k))
    out = []
    for key in keys:
        label = "Target name typed back" if key == "confirmed" else PARAMS.get(key, (key.replace("_", " ").capitalize(),))[0]
        out.append((label, value_words(key, params[key])))
    return out
