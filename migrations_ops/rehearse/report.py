"""The rehearsal report: phases, their steps with time and locks, the schema comparisons and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class StepReport:
    revision: str
    direction: str
    seconds: float | None = None
    ok: bool = True
    error: str = ""
    locks: list[dict[str, str]] = field(default_factory=list)
    # What this down step failed to undo (objects that differ from the state before its up step).
    not_undone: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "direction": self.direction, "seconds": self.seconds, "ok": self.ok,
                "error": self.error, "locks": self.locks, "not_undone": self.not_undone}


@dataclass(slots=True)
class PhaseReport:
    name: str
    operation: str
    revision: str
    ok: bool = True
    seconds: float = 0.0
    error: str = ""
    error_revision: str | None = None
    steps: list[StepReport] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "operation": self.operation, "revision": self.revision, "ok": self.ok,
                "seconds": self.seconds, "error": self.error, "error_revision": self.error_revision,
                "steps": [s.to_json() for s in self.steps]}


@dataclass(slots=True)
class RehearsalReport:
    """``passed`` only when every phase ran and both comparisons are equal; ``problems`` says why not."""

    server: str
    scratch: str
    with_data: int
    clone_seconds: float = 0.0
    sample: dict[str, Any] = field(default_factory=dict)
    phases: list[PhaseReport] = field(default_factory=list)
    down_vs_before: list[dict[str, Any]] | None = None
    up_again_vs_up: list[dict[str, Any]] | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems and len(self.phases) == 3 and all(p.ok for p in self.phases)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "server": self.server, "scratch": self.scratch, "with_data": self.with_data,
                "clone_seconds": self.clone_seconds, "sample": self.sample,
                "phases": [p.to_json() for p in self.phases], "down_vs_before": self.down_vs_before,
                "up_again_vs_up": self.up_again_vs_up, "problems": self.problems, "seconds": self.seconds}
