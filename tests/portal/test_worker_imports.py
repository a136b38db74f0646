"""What a worker process holds before its first task: what copies and verifications need, not the schema engine.

Every module the parent imports is in every child's share of memory; Alembic, SQLAlchemy and the
admin's pages and views were ~30 MB of it that a copy never touches. The schema, drift and rehearsal
tasks import them when they run (their end-to-end tests run them through real workers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.portal.conftest import ROOT

PROBE = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
from portal.celery import app
app.loader.import_default_modules()  # what `celery -A portal worker` does before it forks: setup, checks, tasks
print(json.dumps({"loaded": sorted(m for m in ("alembic", "sqlalchemy", "mako", "portal.urls", "portal.ops.views",
                                               "migrations_ops.copy", "migrations_ops.verify") if m in sys.modules),
                  "tasks": sorted(t for t in app.tasks if not t.startswith("celery."))}))
"""


def _probe(**env: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_worker_starts_with_the_copy_and_verification_engines_and_without_alembic() -> None:
    got = _probe()
    assert got["loaded"] == ["migrations_ops.copy", "migrations_ops.verify"], got["loaded"]
    # every task is registered all the same: a schema run sent to this worker is accepted and runs
    assert {"ops.run_operation", "ops.copy_range", "ops.verify_run", "assure.rehearse", "assure.check_drift",
            "assure.restore_test", "assure.reap_scratch"} <= set(got["tasks"]), got["tasks"]


def test_the_checks_at_start_stay_available_on_request() -> None:
    """CELERY_SKIP_CHECKS is only a default: an operator who sets it to '' gets Celery's start-up checks back."""
    got = _probe(CELERY_SKIP_CHECKS="")
    assert "portal.urls" in got["loaded"] and "alembic" in got["loaded"], got["loaded"]
