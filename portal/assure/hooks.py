"""What the run lifecycle calls before a run's first step: the start gate, then the backup."""

from __future__ import annotations

from portal.ops.models import Run

from . import backups, gates


def before_first_step(run: Run, log) -> None:
    """Refuse a gated run or take its backup; any exception fails the run before step 1 (writes the DB)."""
    gates.check_start(run)
    backups.backup_before_run(run, log)
