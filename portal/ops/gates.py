"""Where the run lifecycle asks other apps before it goes on (change control registers here).

The ops app calls these hooks and knows nothing of what answers them, so an
app such as ``portal.change`` can hold a run for approval or a window
without portal/ops importing it (no import circle). With no gate
registered every hook is a no-op: a run is queued at once and starts when a
worker claims it.
"""

from __future__ import annotations

from typing import Any, Protocol


class RunGate(Protocol):
    def confirm_context(self, target, plan) -> dict[str, Any]:
        """Extra context for the confirm page (risk, start options); may read the target."""

    def on_scheduled(self, run, plan, start: dict[str, Any] | None) -> bool:
        """Called inside the scheduling transaction; True holds the run (not queued now)."""

    def before_claim(self, run_id: int) -> str | None:
        """Right before a worker claims a run: a status string if the run must not start."""

    def window_closed(self, run) -> bool:
        """During a run: True once its window has closed (the run stops between steps)."""

    def outcome(self, run, status: str, fields: dict) -> tuple[str, dict]:
        """The run's final status and fields, reworded if the gate stopped it (window closed)."""

    def notify(self, run, event: str) -> None:
        """A lifecycle event (started, lock_retry, succeeded, failed, ...): send notifications; never raises."""


_GATES: list[RunGate] = []


def register(gate: RunGate) -> None:
    """Add a gate once (called from an app's ``ready()``)."""
    if all(type(g) is not type(gate) for g in _GATES):
        _GATES.append(gate)


def confirm_context(target, plan) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for gate in _GATES:
        out.update(gate.confirm_context(target, plan))
    return out


def on_scheduled(run, plan, start: dict[str, Any] | None = None) -> bool:
    return any([gate.on_scheduled(run, plan, start) for gate in _GATES])


def before_claim(run_id: int) -> str | None:
    for gate in _GATES:
        refused = gate.before_claim(run_id)
        if refused:
            return refused
    return None


def window_closed(run) -> bool:
    return any(gate.window_closed(run) for gate in _GATES)


def outcome(run, status: str, fields: dict) -> tuple[str, dict]:
    for gate in _GATES:
        status, fields = gate.outcome(run, status, fields)
    return status, fields


def notify(run, event: str) -> None:
    for gate in _GATES:
        gate.notify(run, event)
