"""A real ``celery beat`` on the test database (DatabaseScheduler), beside the session's real worker."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.portal.conftest import CELERY, ROOT, _with_db


@pytest.fixture
def celery_beat(transactional_db, celery_broker, tmp_path) -> Iterator[subprocess.Popen]:
    """``celery -A portal beat`` ticking every second; stopped at the end of the test."""
    from django.db import connection

    env = {**os.environ, "DATABASE_URL": _with_db(os.environ["DATABASE_URL"], connection.settings_dict["NAME"]),
           "REDIS_URL": celery_broker["broker_url"], "MOP_CELERY_QUEUE": celery_broker["queue"],
           "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "beat.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(CELERY), "-A", "portal", "beat", "-l", "info", "--max-interval", "1",
             "-s", str(tmp_path / "beat-schedule"), "-S", "django_celery_beat.schedulers:DatabaseScheduler"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while "beat: Starting" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"beat did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    proc.log_path = log
    yield proc
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=15)
