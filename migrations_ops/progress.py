"""Progress reports that engine functions send to an optional callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Progress:
    """One report: counts for the bar, a line for the log, and structured extras."""

    done: int
    total: int
    message: str
    level: str = "info"
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


def no_progress(_: Progress) -> None:
    """Default callback: drop the report."""


def never_cancel() -> bool:
    """Default cancel check: never."""
    return False
