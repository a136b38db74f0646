"""This worker process's environment fingerprint, taken when the tasks are loaded (at worker start).

``explain_if_stale`` is called on a failed run: when importing revisions (or
the project's operation modules) failed and the environment changed since the
start, the error says "restart the workers" and lists what changed. The
``mop_fingerprint`` inspect command lets the Workers page ask each worker.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from celery.worker.control import inspect_command

from migrations_ops.worker_env import STALE_MESSAGE, changes, environment_fingerprint

log = logging.getLogger(__name__)
CODE_ROOTS = [Path(__file__).resolve().parents[1], Path(__file__).resolve().parents[2] / "migrations_ops"]
AT_START = environment_fingerprint(CODE_ROOTS)
_IMPORT_CODES = {"revision_import_error", "operation_module_error"}
_IMPORT_CLASSES = {"ImportError", "ModuleNotFoundError"}


def _is_import_failure(error: BaseException) -> bool:
    if isinstance(error, ImportError):
        return True
    if getattr(error, "code", "") in _IMPORT_CODES:
        return True
    failure = (getattr(error, "fields", None) or {}).get("failure") or {}
    return failure.get("exception_class") in _IMPORT_CLASSES


def explain_if_stale(error: BaseException | None) -> BaseException | None:
    """Add the stale-worker sentence and what changed to an import failure's message and data (never raises)."""
    if error is None or not _is_import_failure(error):
        return error
    try:
        changed = changes(AT_START, environment_fingerprint(CODE_ROOTS))
    except Exception:  # noqa: BLE001 - a diagnosis must never hide the run's own error
        log.exception("could not compare the worker's environment fingerprint")
        return error
    if not changed:
        return error
    if hasattr(error, "fields"):
        error.fields["stale_worker"] = {"message": STALE_MESSAGE, "changes": changed[:50],
                                        "at_start": AT_START.short()}
    error.args = (f"{error.args[0] if error.args else error}: {STALE_MESSAGE} ({'; '.join(changed[:5])})",
                  *error.args[1:])
    return error


@inspect_command()
def mop_fingerprint(state) -> dict:
    """Celery inspect: this worker's fingerprint at start and whether its environment changed since."""
    now = environment_fingerprint(CODE_ROOTS)
    versions = {k: AT_START.distributions.get(k) for k in ("celery", "alembic", "sqlalchemy", "psycopg", "django")}
    return {"at_start": AT_START.short(), "now": now.short(), "changed": changes(AT_START, now)[:20],
            "distributions": len(AT_START.distributions), "versions": versions,
            "python": sys.version.split()[0]}
