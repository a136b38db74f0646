"""Retrying a run that lost a lock race: backoff, a cancellable wait, and a fixed destination.

A ``lock_timeout`` means another session held a lock a little too long; the
step rolled back and the steps before it stay committed (one transaction per
revision), so the run can wait and resume at the step that failed. Three
things make that safe:

1. the destination is made absolute once, before the first attempt, so that a
   relative ``+1`` / ``-1`` is not applied again from the new position;
2. the wait uses "full jitter" (a random delay between 0 and an exponentially
   growing cap), so that two runs queued behind one blocker do not retry in
   lockstep and keep colliding;
3. the wait is sliced, so a cancel request is honoured within a fraction of a
   second even during a long backoff.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the portal's forms read MAX_LOCK_RETRIES without loading Alembic
    from alembic.runtime.migration import MigrationStep

from ..errors import LockTimeout, PlanError

SleepFn = Callable[[float], None]
SLICE_S = 0.1  # the longest a cancel request waits during a backoff

# Alembic's relative forms (``+2``, ``-1``, ``label@+1``, ``ae10+2``): the ones whose
# meaning depends on where the target is when they are resolved.
_RELATIVE = re.compile(r"^(?:(?P<label>[^@\s]+)@)?(?:\w+)?[+-]\d+$")


class Rng(Protocol):
    """What the backoff needs from a random source (``random.Random`` fits)."""

    def uniform(self, a: float, b: float) -> float: ...


# Upper bound of lock_retries: with the 30 s backoff cap, 20 retries already wait up to
# ten minutes while holding a worker; more is a typo, not a policy.
MAX_LOCK_RETRIES = 20


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a run retries after ``LockTimeout``, and how long it waits in between."""

    retries: int = 3
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise PlanError(f"lock_retries must be a whole number >= 0, not {self.retries!r}")
        if self.retries > MAX_LOCK_RETRIES:
            raise PlanError(f"lock_retries must be at most {MAX_LOCK_RETRIES}, not {self.retries}")
        for name, value in (("retry_backoff_s", self.backoff_s), ("retry_backoff_max_s", self.backoff_max_s)):
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < float("inf"):
                raise PlanError(f"{name} must be a number of seconds >= 0, not {value!r}")

    @property
    def attempts(self) -> int:
        """The most attempts a run makes: the first one plus the retries."""
        return self.retries + 1

    def cap(self, attempt: int) -> float:
        """The longest wait after failed attempt ``attempt`` (1-based): doubling, then capped.

        >>> [RetryPolicy(5, 1.0, 5.0).cap(n) for n in range(1, 6)]
        [1.0, 2.0, 4.0, 5.0, 5.0]
        """
        return min(self.backoff_max_s, self.backoff_s * 2 ** min(attempt - 1, 62))

    def delay(self, attempt: int, rng: Rng) -> float:
        """Full jitter: uniformly between 0 and ``cap(attempt)``.

        >>> class Top:
        ...     def uniform(self, a, b): return b
        >>> RetryPolicy(3, 0.5, 30).delay(3, Top())
        2.0
        """
        return max(0.0, rng.uniform(0.0, self.cap(attempt)))


def wait(seconds: float, sleep: SleepFn, should_cancel: Callable[[], bool]) -> bool:
    """Sleep ``seconds`` in slices, checking ``should_cancel`` before each; True if cancelled.

    >>> slept = []
    >>> wait(0.25, slept.append, lambda: False), [round(s, 2) for s in slept]
    (False, [0.1, 0.1, 0.05])
    >>> wait(10, slept.append, lambda: len(slept) >= 5)
    True
    """
    deadline = seconds
    while True:
        if should_cancel():
            return True
        if deadline <= 0:
            return False
        step = min(SLICE_S, deadline)
        sleep(step)
        deadline -= step


def absolute_destination(operation: str, revision: str, steps: Sequence[MigrationStep],
                         to_heads: Sequence[str]) -> str:
    """The destination of ``revision`` as it resolved from the starting heads, position-free.

    An absolute revision (``head``, ``heads``, ``base``, an id, ``label@head``)
    is kept as given. A relative one is replaced by where the first plan led:
    the last upgraded revision; for a downgrade the revision below the last
    downgraded one, keeping a ``label@`` (a relative downgrade walks one
    lineage, Alembic refuses it at a merge); for a stamp the planned heads.
    Taking an id that merely looks relative (``2024-01``) for a relative one is
    harmless: the replacement names the same place.
    """
    match = _RELATIVE.match(revision.strip())
    if match is None or not steps:
        return revision
    last = steps[-1]
    from alembic.runtime.migration import RevisionStep

    from .alembic_env import step_revision

    if operation == "stamp" or not isinstance(last, RevisionStep):
        return " ".join(to_heads) or "base"
    if last.is_upgrade:
        return step_revision(last)
    below = ",".join(last.to_revisions_no_deps) or "base"
    return f"{match['label']}@{below}" if match["label"] else below


def blocker_of(exc: LockTimeout) -> dict[str, Any]:
    """The blocker a ``LockTimeout`` names, as the progress log stores it (all None if unknown)."""
    f = exc.fields
    return {"pid": f.get("blocker_pid"), "application": f.get("blocker_application"),
            "state": f.get("blocker_state"), "query": f.get("blocker_query")}
