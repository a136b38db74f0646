"""``ops bootstrap-example``: the first start's roles, example project and targets, schedules and admin."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from migrations_ops.target import TargetConn

from .. import services
from ..models import AlembicProject, Target
from ..roles import ensure_roles

EXAMPLE_PROJECT = "billing-example"


EXAMPLE_TARGETS = (("billing-dev", "development", "MOP_EXAMPLE_DEV_DSN"),
                   ("billing-prod", "production", "MOP_EXAMPLE_PROD_DSN"))


def cmd_bootstrap_example(command, options) -> None:
    """Idempotent first start: roles, the example project and targets, the reaper schedule, an admin user."""
    ensure_roles()
    project, _ = AlembicProject.objects.get_or_create(
        name=EXAMPLE_PROJECT,
        defaults={"location": str(settings.BASE_DIR / "examples" / "billing"),
                  "description": "The billing schema of seed 000: a branch and its merge, a batched backfill, "
                                 "an index built concurrently, a downgrade that loses data."},
    )
    for name, environment, var in EXAMPLE_TARGETS:
        if Target.objects.filter(name=name).exists():
            continue
        if not os.environ.get(var):
            command.stderr.write(f"{var} is not set: example target {name} skipped")
            continue
        conn = TargetConn.from_url(os.environ[var])
        target = Target(name=name, environment=environment, project=project, host=conn.host, port=conn.port,
                        dbname=conn.dbname, user=conn.user, sslmode=conn.sslmode)
        services.save_target(target, actor="bootstrap", password=conn.password or None, created=True)
        command.stdout.write(f"Example target {name} ({environment}): {conn.redacted()}")
    _reaper_schedule()
    _snapshot_schedule()
    from portal.health.schedule import ensure_schedule  # noqa: PLC0415

    ensure_schedule()  # the periodic health reading (portal/health)
    _admin_user(command)


def _reaper_schedule() -> None:
    _beat_task("Reap runs whose worker died", "ops.reap_stale_runs", 30)


def _snapshot_schedule() -> None:
    """Periodic lock snapshots of every active target, every MOP_SNAPSHOT_INTERVAL_SECONDS."""
    _beat_task("Snapshot locks and activity of every target", "ops.snapshot_all_targets",
               settings.MOP_SNAPSHOT_INTERVAL_SECONDS)


def _beat_task(name: str, task: str, seconds: int) -> None:
    """Create the beat entry ``name`` if it is missing (writes the DB).

    Create only: an admin may have changed its interval or disabled it since, and a re-run keeps that.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=name).exists():
        return
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": every})


def _admin_user(command) -> None:
    User = get_user_model()
    if User.objects.filter(username="admin").exists():
        return
    password = secrets.token_urlsafe(15)
    User.objects.create_superuser("admin", "admin@localhost", password)
    path = Path(settings.MOP_VAR_DIR) / "admin-password.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(password + "\n")
    os.chmod(path, 0o600)
    command.stdout.write(f"Superuser created: admin / {password}  (also in {path}, mode 600; shown once)")
