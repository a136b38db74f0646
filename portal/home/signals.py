"""Store a target's revision whenever something reads the target anyway: a status read, a periodic snapshot."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models.signals import post_save

log = logging.getLogger(__name__)


def _after_snapshot(sender, instance, created: bool, **kwargs) -> None:
    from portal.ops.models import LockSnapshot

    from . import fleet
    from .models import TargetState

    if not created or instance.reason != LockSnapshot.Reason.PERIODIC:
        return

    def read() -> None:
        try:
            fleet.check_target(instance.target, TargetState.Source.SNAPSHOT)
        except Exception:  # noqa: BLE001 - the snapshot is stored; its revision is a bonus
            log.exception("could not read the revision of %s after its snapshot", instance.target_id)

    transaction.on_commit(read)


def connect() -> None:
    post_save.connect(_after_snapshot, sender="ops.LockSnapshot", dispatch_uid="home-revision-after-snapshot")
    connect_status()


def _after_status(sender, target, status, **kwargs) -> None:
    from . import fleet

    fleet.record_status(target, status)


def connect_status() -> None:
    from portal.ops.signals import status_read

    status_read.connect(_after_status, dispatch_uid="home-revision-after-status")
