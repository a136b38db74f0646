"""Portal fixtures: personas, a real Celery worker process, and audit-safe flushes.

``celery_worker_proc`` starts ``celery -A portal worker`` as a subprocess on
the pytest-django test database, a private Redis database and a queue of its
own, and points this process's Celery app at the same broker and queue. Tests
that use it need ``transactional_db`` so the worker sees committed rows.
Browser tests live in tests/portal/browser, so these fixtures reach them without re-export (a re-exported session fixture would run twice).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.core.management.commands import flush as flush_command
from django.db.backends.postgresql.operations import DatabaseOperations

from tests.factories import UserFactory
from tests.polling import wait_for  # noqa: F401 - the tests import it from here too
from tests.portal import portal_db

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"


# --- The test database and its flushes -----------------------------------------
# The test database is set up as production's: migrated by the owner role, used
# by the portal's role (tests/portal/portal_db.py). The audit table refuses
# TRUNCATE and DELETE (migration 0002) and the portal's role may not TRUNCATE at all, so
# Django's flush after each transactional test runs as the owner, as deletes with the
# audit table's delete trigger disabled inside that one transaction (portal_db.flush_statements).
_orig_sql_flush = DatabaseOperations.sql_flush
_orig_execute_sql_flush = DatabaseOperations.execute_sql_flush


def _sql_flush_past_audit_trigger(self, style, tables, *args, reset_sequences=False, **kwargs):
    return portal_db.flush_statements(
        _orig_sql_flush(self, style, tables, *args, reset_sequences=reset_sequences, **kwargs), tables,
        reset_sequences=reset_sequences)


def _execute_sql_flush_as_owner(self, sql_list):
    if portal_db.owner_url() is None:
        return _orig_execute_sql_flush(self, sql_list)
    return portal_db.execute_flush(self.connection.settings_dict["NAME"], sql_list)


DatabaseOperations.sql_flush = _sql_flush_past_audit_trigger
DatabaseOperations.execute_sql_flush = _execute_sql_flush_as_owner
_orig_emit_post_migrate = flush_command.emit_post_migrate_signal


def _post_migrate_unless_restored(*args, **kwargs):
    """The flush put post_migrate's rows back itself (portal_db.KEPT_TABLES): the signal would redo 0.2 s of it."""
    if not portal_db.restores_migrated_rows():
        _orig_emit_post_migrate(*args, **kwargs)


flush_command.emit_post_migrate_signal = _post_migrate_unless_restored


@pytest.fixture
def real_flush(monkeypatch):
    """A flush that leaves post_migrate's rows to the signal, as in production (for the tests of those handlers)."""
    monkeypatch.setattr(portal_db, "RESTORE_KEPT_ROWS", False)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_modify_db_settings):
    """The test database, created and migrated by the owner role (replaces pytest-django's)."""
    if portal_db.owner_url() is None:
        yield from _pytest_django_db_setup(request, django_db_blocker)
        return
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, serialized = _get_databases_for_setup(request.session.items)
    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        config = portal_db.setup_test_database(verbosity, aliases, serialized)
    yield
    with django_db_blocker.unblock():
        portal_db.teardown_test_database(config, verbosity)


def _pytest_django_db_setup(request, django_db_blocker):
    """pytest-django's own set-up, for a portal role that is still a superuser."""
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _get_databases_for_setup

    aliases, serialized = _get_databases_for_setup(request.session.items)
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=request.config.option.verbose, interactive=False, aliases=aliases,
                                 serialized_aliases=serialized)
    yield
    with django_db_blocker.unblock():
        teardown_databases(config, verbosity=request.config.option.verbose)


# A flush also empties auth_group; the roles come back from the rows kept after the migration
# (portal_db.KEPT_TABLES), which post_migrate made (portal/ops/apps.py).


# --- Directories of the session ---------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def import_root(tmp_path_factory) -> Iterator[Path]:
    """MOP_IMPORT_DIR for the whole session: a temporary folder, never the dev tree's var/imports.

    ``make_worker`` passes the same folder to the worker processes, so both sides resolve the same files.
    """
    from django.test import override_settings

    root = tmp_path_factory.mktemp("imports")
    with override_settings(MOP_IMPORT_DIR=root):
        yield root


@pytest.fixture(scope="session", autouse=True)
def static_root(tmp_path_factory) -> Iterator[Path]:
    """An existing, empty STATIC_ROOT: WhiteNoise warns "No directory at" when collectstatic never ran.

    Tests never need collected files (the live server serves static files from the apps).
    """
    from django.test import override_settings

    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root):
        yield root


@pytest.fixture(scope="session", autouse=True)
def plain_http() -> Iterator[None]:
    """The test client and live server speak plain HTTP: no redirect to HTTPS, whatever .env says.

    Production redirects (portal/settings.py, scripts/check-deploy.sh); cookies stay secure here too.
    """
    from django.test import override_settings

    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


# --- Personas ------------------------------------------------------------------


@pytest.fixture
def dba(db):
    """A DBA: the admin role (targets, runs, audit checks, backends)."""
    return UserFactory(username="dba", roles=["admin"])


@pytest.fixture
def operator(db):
    """An operator: may schedule and cancel runs, not manage targets."""
    return UserFactory(username="olga", roles=["operator"])


@pytest.fixture
def auditor(db):
    """An auditor: reads everything, verifies and exports the audit trail."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username="audrey", roles=["viewer"])
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="ops", codename__in=["verify_audit_chain", "export_audit"])
    )
    return user


@pytest.fixture
def viewer(db):
    """A viewer: may look, nothing else."""
    return UserFactory(username="vera", roles=["viewer"])


# --- A real Celery worker ----------------------------------------------------------


def _with_db(url: str, db: str | int) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))


def _reset_broker_pool(app) -> None:
    app._pool = None
    if "amqp" in app.__dict__:
        app.__dict__["amqp"]._producer_pool = None


class WorkerProcess:
    """One ``celery worker`` subprocess; ``kill()`` is SIGKILL of its whole process group."""

    def __init__(self, *, database_url: str, broker_url: str, queue: str, log_path: Path,
                 concurrency: int = 2, extra_env: dict[str, str] | None = None,
                 application_name: str | None = "mop-worker") -> None:
        self.queue, self.log_path, self.broker_url = queue, log_path, broker_url
        self.hostname = f"{queue}-{uuid.uuid4().hex[:6]}@%h"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": broker_url,
            "MOP_CELERY_QUEUE": queue,
            "MOP_APPLICATION_NAME": "mop-worker",
            "MOP_HEARTBEAT_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        if application_name is None:  # let portal/celery.py name the connections, as in production
            env.pop("MOP_APPLICATION_NAME", None)
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(CELERY), "-A", "portal", "worker", "-Q", queue, "-c", str(concurrency), "-l", "info",
             "-n", self.hostname, "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, app, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")
            if " ready." in self.log_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready after {timeout}s:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as the OOM killer would."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture(scope="session")
def celery_broker(django_db_setup) -> Iterator[dict[str, str]]:
    """Point this process's Celery app at a private Redis DB and queue; yields their names."""
    from django.conf import settings

    from portal.celery import app

    broker = _with_db(settings.CELERY_BROKER_URL, os.environ.get("MOP_TEST_REDIS_DB", "14"))
    queue = f"mop-test-{uuid.uuid4().hex[:8]}"
    saved = (app.conf.broker_url, app.conf.task_default_queue)
    app.conf.broker_url, app.conf.task_default_queue = broker, queue
    _reset_broker_pool(app)
    yield {"broker_url": broker, "queue": queue}
    app.conf.broker_url, app.conf.task_default_queue = saved
    _reset_broker_pool(app)


@pytest.fixture(scope="session")
def make_worker(celery_broker, import_root, tmp_path_factory) -> Iterator[Callable[..., WorkerProcess]]:
    """Start extra workers on the test database, the test queue and import folder (stopped at session end)."""
    from django.db import connection

    from portal.celery import app

    database_url = _with_db(os.environ["DATABASE_URL"], connection.settings_dict["NAME"])
    started: list[WorkerProcess] = []

    def _make(queue: str | None = None, extra_env: dict[str, str] | None = None, **kw) -> WorkerProcess:
        logs = tmp_path_factory.mktemp("worker")
        worker = WorkerProcess(database_url=database_url, broker_url=celery_broker["broker_url"],
                               queue=queue or celery_broker["queue"], log_path=logs / "worker.log",
                               extra_env={"MOP_IMPORT_DIR": str(import_root), **(extra_env or {})}, **kw)
        started.append(worker)
        worker.wait_ready(app)
        return worker

    yield _make
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def celery_worker_proc(make_worker) -> WorkerProcess:
    """One real worker shared by the session (2 processes). Use with ``transactional_db``."""
    return make_worker()


@contextlib.contextmanager
def publishing_to(queue: str) -> Iterator[None]:
    """Send this process's tasks to ``queue`` for a while (a worker of its own, e.g. one to kill)."""
    from portal.celery import app

    saved, app.conf.task_default_queue = app.conf.task_default_queue, queue
    try:
        yield
    finally:
        app.conf.task_default_queue = saved




def wait_run_finished(run, timeout: float = 90):
    """Poll a run until it leaves queued/running; returns it refreshed."""

    def done():
        run.refresh_from_db()
        return not run.is_active

    wait_for(done, timeout, what=f"run #{run.pk} to finish")
    return run
