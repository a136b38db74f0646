"""The Migration Ops Portal: a Django project driven from the admin."""

from .celery import app as celery_app

__all__ = ["celery_app"]
