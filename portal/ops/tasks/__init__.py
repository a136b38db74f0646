"""Celery tasks, one module per kind of run; the worker imports this package to register them all.

Every task is queued by its name (``dispatch.send_run``), never by importing it, so the
portal's views and services do not depend on this package.
"""

from . import copy, periodic, schema, verify  # noqa: F401 - registers the tasks with Celery
