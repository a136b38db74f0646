"""The Migration Ops Portal: a Django project driven from the admin.

The Celery app (``portal.celery``) is not imported here (Celery's Django recipe does;
we do not): ``celery -A portal`` finds it as the ``celery`` submodule, the web
process loads it with its URLs (``portal.urls``), and every sender imports it
where it queues (``dispatch.send_run`` and the notifiers). A read-only ``ops``
command never pays for Celery's import.
"""
