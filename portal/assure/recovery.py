"""After a failed or interrupted run: where the target stands, what committed, and the next actions.

``guidance(run)`` reads the target's version table now (connects) and the
revision files statically; the run page and ``ops recovery`` print the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrations_ops.errors import OpsError
from migrations_ops.schema.revisions import list_revisions
from portal.ops import lifecycle, services
from portal.ops.models import Run

from .models import Backup

STAMP_WARNING = ("Stamp only writes the version table: no SQL of the revision runs. Use it only when you have "
                 "checked (or finished by hand) that the schema is what that revision makes; otherwise the next "
                 "upgrade starts from a lie.")


@dataclass(frozen=True, slots=True)
class Action:
    key: str
    label: str
    operation: str
    revision: str
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "operation": self.operation, "revision": self.revision,
                "explanation": self.explanation}


@dataclass(frozen=True, slots=True)
class Guidance:
    heads_now: list[str] | None
    where: str
    failed_step: str | None
    committed_steps: list[str]
    failed_step_committed: str
    backup: dict[str, Any] | None
    actions: list[Action] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"heads_now": self.heads_now, "where": self.where, "failed_step": self.failed_step,
                "committed_steps": self.committed_steps, "failed_step_committed": self.failed_step_committed,
                "backup": self.backup, "actions": [a.to_json() for a in self.actions]}

    def lines(self) -> list[str]:
        out = [f"Where the target stands: {self.where}",
               f"Committed steps: {', '.join(self.committed_steps) or 'none'}"]
        if self.failed_step:
            out.append(f"Failed step: {self.failed_step}: {self.failed_step_committed}")
        out.append(f"Backup of this run: {self.backup['path'] if self.backup else 'none'}")
        out += [f"Next: {a.label} ({a.operation} {a.revision}): {a.explanation}" for a in self.actions]
        return out


def applies(run: Run) -> bool:
    return run.status in (Run.Status.FAILED, Run.Status.INTERRUPTED, Run.Status.CANCELLED) and run.operation in (
        Run.Operation.UPGRADE, Run.Operation.DOWNGRADE)


def _uses_autocommit(run: Run, revision: str) -> bool:
    """Does the revision file open an ``autocommit_block()`` (which commits part of a step by itself)?"""
    try:
        resolved = services.resolve(run.target.project)
        info = list_revisions(resolved).get(revision)
        return "autocommit_block" in (resolved.script_location / info.path).read_text(errors="replace")
    except (OpsError, OSError):
        return False


def guidance(run: Run) -> Guidance:
    """The recovery picture of a failed, cancelled or interrupted run (connects to the target)."""
    heads = lifecycle.current_heads(run.target)
    committed = [t["revision"] for t in run.step_timings or []]
    steps = [s["revision"] for s in run.plan_steps or []]
    failed = (run.error_data or {}).get("revision") or (steps[len(committed)] if len(committed) < len(steps) else None)
    if heads is None:
        where = "unknown: the version table could not be read (is the target reachable?)"
    elif sorted(heads) == sorted(run.from_heads):
        where = f"at {', '.join(heads) or 'base'}, where the run started: nothing of it remains committed"
    elif sorted(heads) == sorted(run.to_heads):
        where = f"at {', '.join(heads)}, where the run was going: every step committed"
    else:
        where = f"at {', '.join(heads) or 'base'}, part way: {len(committed)} of {len(steps)} step(s) committed"
    if failed is None:
        failed_committed = ""
    elif _uses_autocommit(run, failed):
        failed_committed = ("its file uses autocommit_block(): the statements inside that block may have committed "
                            "although the step failed; check those objects on the target")
    else:
        failed_committed = "nothing: its transaction rolled back"
    backup = Backup.objects.filter(run=run, status=Backup.Status.OK).first()
    start = run.from_heads[0] if len(run.from_heads) == 1 else "base" if not run.from_heads else None
    actions = []
    if failed:
        actions.append(Action("retry", "Retry from the failed step", run.operation, run.revision,
                              f"plans again from the live version table, so it resumes at {failed}"))
    if start is not None and heads is not None and sorted(heads) != sorted(run.from_heads):
        back = "downgrade" if run.operation == Run.Operation.UPGRADE else "upgrade"
        actions.append(Action("back", f"{back.capitalize()} to where the run started", back, start,
                              f"undoes the {len(committed)} committed step(s) with their own {back} code"))
    if failed:
        actions.append(Action("stamp", "Stamp", "stamp", failed, STAMP_WARNING))
    return Guidance(heads, where, failed, committed, failed_committed,
                    {"id": backup.pk, "path": backup.path, "restore_command": backup.restore_command,
                     "sha256": backup.sha256} if backup else None, actions)
