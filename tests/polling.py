"""The one polling loop of the tests: wait for a condition on a real service, fail naming what never came."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(predicate: Callable[[], T], timeout: float = 60, interval: float = 0.2, what: str = "") -> T:
    """Poll until ``predicate()`` is truthy; return its value or fail naming ``what``.

    >>> wait_for(lambda: 42, timeout=1)
    42
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def eventually(check: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
    """Call ``check`` until it passes (returns without AssertionError); the last failure is raised.

    >>> eventually(lambda: "ok", timeout=1)
    'ok'
    """
    failure: list[AssertionError] = []

    def passes():
        try:
            return (check(),)
        except AssertionError as exc:
            failure[:] = [exc]
            return None

    try:
        return wait_for(passes, timeout, interval)[0]
    except AssertionError:
        if failure:
            raise failure[0] from None
        raise
