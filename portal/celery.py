"""Celery app: the worker and beat load Django settings from the CELERY_ namespace."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Celery's Django fix-up runs Django's system checks when a worker starts and ignores what they find; the URL
# check among them imports the URLconf: every admin page, view and template tag, and through them Alembic and
# SQLAlchemy (~30 MB of PSS a worker held, shared by its children, that no copy or verification uses). The web
# process and ``manage.py check`` run the checks; a task that needs a URL loads the URLconf when it asks.
os.environ.setdefault("CELERY_SKIP_CHECKS", "1")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _name_db_connections(role: str) -> None:
    """Show the process's role in pg_stat_activity (healthchecks' "sendalerts" idea).

    The settings default to ``mop-web``; an explicit MOP_APPLICATION_NAME wins.
    Runs before the process opens any connection of its own.
    """
    if os.environ.get("MOP_APPLICATION_NAME"):
        return
    from django.db import connections

    for alias in connections:
        options = connections[alias].settings_dict.setdefault("OPTIONS", {})
        options["application_name"] = role
        connections[alias].close()


@signals.celeryd_init.connect
def _worker_starting(**_kwargs) -> None:
    _name_db_connections("mop-worker")
    _fewer_malloc_arenas()


_M_ARENA_MAX = -8


def _glibc():
    """The C library when it is glibc (``mallopt``, ``malloc_trim``), else None: then both are left alone."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def _fewer_malloc_arenas(limit: int = 2) -> None:
    """Cap glibc's malloc arenas in the worker before it forks its children (they inherit the cap).

    Every thread a copy or a verification starts (range readers, COPY writers, checksum sides)
    got an arena of its own, up to 8 per core, and each kept ~2 MB a child no longer used after
    ``malloc_trim``: a prefork child grew by ~12 MB over its first copies and stayed there.
    Two arenas serve the few threads a task runs at once.
    """
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, limit)


@signals.worker_init.connect
def _freeze_before_fork(**_kwargs) -> None:
    """Move everything the worker imported into the collector's permanent generation before the pool forks.

    The prefork children share the parent's pages until they write to them, and
    a collection in a child writes to the header of every object it scans: the
    modules alone are ~100 MB. Frozen, those objects are never scanned, so the
    children keep sharing them (lower PSS per child, less copying at fork).
    """
    import gc

    gc.collect()
    gc.freeze()


_LIBC = None


@signals.task_postrun.connect
def _give_memory_back(**_kwargs) -> None:
    """Hand the heap a task freed back to the system (glibc's ``malloc_trim``) before the child idles.

    A copy's range or a verification frees its buffers when it ends, but glibc keeps the
    pages: a prefork child stayed at its largest (~100 MB PSS per child after one copy of a
    1.3 M-row file) until the next task, so the worker's share of the machine never went down.
    The trim costs a few milliseconds after each task; where there is no glibc it does nothing.
    """
    global _LIBC
    if _LIBC is None:
        _LIBC = _glibc() or False
    if _LIBC:
        import gc

        gc.collect()  # the task's own cycles (the modules are frozen before the fork: not scanned)
        _LIBC.malloc_trim(0)


@signals.beat_init.connect
def _beat_starting(**_kwargs) -> None:
    _name_db_connections("mop-beat")
