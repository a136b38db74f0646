"""Fixtures for the copy engine: SQLite files built in tmp_path and typed target tables."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrations_ops.target import TargetConn

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bench"))

from copy_helpers import pg  # noqa: E402
from gen_billing_sqlite import TYPED_TARGET_DDL, Manifest, generate  # noqa: E402


@pytest.fixture
def make_sqlite(tmp_path: Path) -> Callable[..., Path]:
    """Build a SQLite file from a script and rows: ``make_sqlite(ddl, {table: [rows]})``."""

    def _make(ddl: str, rows: dict[str, list[tuple[Any, ...]]] | None = None, name: str = "src.sqlite") -> Path:
        path = tmp_path / name
        conn = sqlite3.connect(path)
        conn.executescript(ddl)
        with conn:
            for table, values in (rows or {}).items():
                if values:
                    marks = ", ".join("?" * len(values[0]))
                    conn.executemany('INSERT INTO "' + table.replace('"', '""') + '" VALUES (' + marks + ")", values)
        conn.close()
        return path

    return _make


@pytest.fixture
def billing_target(target_db: TargetConn) -> TargetConn:
    """An empty target with the typed billing schema the example project builds."""
    with pg(target_db) as c:
        c.execute(TYPED_TARGET_DDL)  # type: ignore[arg-type]
    return target_db


@pytest.fixture
def billing_sqlite(tmp_path: Path) -> tuple[Path, Manifest]:
    path = tmp_path / "billing.sqlite"
    return path, generate(path, 3000, seed=7)
