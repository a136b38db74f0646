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
    "source_size": ("Source size", ""),
    "copy_id": ("Copy id", ""),
    "tables": ("Tables", ""),
    "changed": ("Fields changed", ""),
    "pid": ("Backend pid", ""),
    "reason": ("Reason", ""),
    "after_copy": ("Verifies copy run", ""),
    "truncated": ("Emptied first (rows)", ""),
    "resume_of": ("Resumes run", ""),
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
        return {"findings": "none", "tables": "every table"}.get(key, "—")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{v} {k}" if key == "findings" else f"{k}: {value_words(k, v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if key in ("after_copy", "resume_of"):
        return f"#{value}"
    if key == "source_size" and isinstance(value, int):
        from django.template.defaultfilters import filesizeformat

        return f"{filesizeformat(value)} ({value} bytes)"
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


COPY_OPTION_EMPTY = {"tables": "every table", "max_rejects": "no limit", "skip_tables": "none"}


def copy_option_items(options: dict | None) -> list[tuple[str, str]]:
    """(label, words) of a copy's options, labelled as the copy form labels them.

    A choice reads as the start of its form label ("Truncate"), a tick box as yes/no.

    >>> copy_option_items({"create_missing_tables": False, "if_not_empty": "truncate", "max_rejects": None})
    [('Create missing tables', 'no'), ('Stop after N rejects', 'no limit'), ('Target tables that already hold rows', 'Truncate')]
    """
    # Imported here: the forms import the copy engine, which this module's other users do not need.
    from portal.ops.copy_forms import CopyOptionsMixin

    fields = CopyOptionsMixin.base_fields
    order = list(fields)
    out = []
    for key in sorted(options or {}, key=lambda k: (order.index(k) if k in order else len(order), k)):
        value, field = options[key], fields.get(key)
        label = str(field.label) if field is not None and field.label else key.replace("_", " ").capitalize()
        choices = {str(c): str(text) for c, text in getattr(field, "choices", None) or []}
        if value in (None, "", [], {}):
            text = COPY_OPTION_EMPTY.get(key, "—")
        elif str(value) in choices and not isinstance(value, bool):
            text = choices[str(value)].split(":", 1)[0]
        else:
            text = value_words(key, value)
        out.append((label, text))
    return out


DATA_RUN_NESTED = frozenset({"preflight", "options", "abandoned"})  # shown in sections of their own
# The worker's own bookkeeping (each range's spec, for resending a lost one): the ranges table shows them.
DATA_RUN_INTERNAL = frozenset({"range_specs"})


def data_run_param_items(params: dict | None) -> list[tuple[str, str]]:
    """A copy's or verification's parameters in words, without what its page shows in sections of its own.

    >>> data_run_param_items({"copy_id": "c-1", "options": {"text_policy": "reject"}, "after_copy": 7,
    ...                       "range_specs": {"t:0": {"table": "t"}}})
    [('Copy id', 'c-1'), ('Verifies copy run', '#7')]
    """
    hidden = DATA_RUN_NESTED | DATA_RUN_INTERNAL
    return param_items({k: v for k, v in (params or {}).items() if k not in hidden})


def copy_choice(value: Any, key: str) -> str:
    """One copy option's value in words (``"truncate"|copy_choice:"if_not_empty"`` reads "Truncate")."""
    return copy_option_items({key: value})[0][1]


def pair_items(pairs) -> list[tuple[str, str]]:
    """(label, words) of (key, value) pairs, such as a verification's settings.

    >>> pair_items([("checks", ["counts", "orphans"]), ("explain_rejects", True)])
    [('Checks', 'counts, orphans'), ('Explain rejects', 'yes')]
    """
    return param_items(dict(pairs or ()))
