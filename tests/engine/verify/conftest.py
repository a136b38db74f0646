"""Fixtures of the verification tests: a clean billing copy, and a big table on both sides."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from verify_dataset import build_billing, build_events, pg_connect  # noqa: E402

from migrations_ops.target import TargetConn  # noqa: E402

# The issue asks for 1,000,000 rows; the suite uses 200,000 by default to stay fast on the
# shared 2-core machine. bench/bench_verify.py runs the 1 M case; MOP_VERIFY_TEST_ROWS=1000000 here too.
BIG_ROWS = int(os.environ.get("MOP_VERIFY_TEST_ROWS", "200000"))


@pytest.fixture
def billing(make_database: Callable[..., TargetConn], tmp_path: Path) -> tuple[TargetConn, Path]:
    """A clean copy: the billing target and its SQLite source, equal row for row."""
    target = make_database("verify")
    src = tmp_path / "billing.sqlite"
    build_billing(target, src)
    return target, src


@pytest.fixture
def events(make_database: Callable[..., TargetConn], tmp_path: Path) -> tuple[TargetConn, Path, int]:
    """The ``events`` table with BIG_ROWS rows on both sides."""
    target = make_database("verifybig")
    src = tmp_path / "events.sqlite"
    build_events(target, src, BIG_ROWS)
    return target, src, BIG_ROWS


@pytest.fixture
def pg_exec(billing: tuple[TargetConn, Path]) -> Callable[..., None]:
    """Run statements on the billing target as its owner (to plant differences)."""
    def _exec(*stmts: str) -> None:
        with pg_connect(billing[0]) as c:
            for s in stmts:
                c.execute(s)
    return _exec
