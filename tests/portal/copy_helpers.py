"""Fixtures of the copy and verification portal tests: an import directory, SQLite files, typed targets.

Test files import them by name (``# ruff: noqa: F811``). The import directory
is a fresh folder inside the session's temporary MOP_IMPORT_DIR (``import_root``
in ``tests/portal/conftest.py``), which the Celery workers are given too, so
that they resolve the same files and nothing lands in the dev tree's var/imports.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings

from migrations_ops.target import TargetConn
from portal.ops.models import AlembicProject, Target
from tests.factories import target_for

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from gen_billing_sqlite import TYPED_TARGET_DDL, Manifest, generate  # noqa: E402

FTS_DDL = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), qty INTEGER, note TEXT);
CREATE VIRTUAL TABLE docs_fts USING fts5(title, body);
"""


def pg_exec(target: TargetConn, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as c:
        cur = c.execute(statement, params)
        return cur.fetchall() if cur.description else []


@pytest.fixture
def import_dir(import_root: Path) -> Iterator[Path]:
    """A fresh folder inside the session's MOP_IMPORT_DIR (removed afterwards)."""
    folder = import_root / f"pytest-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
    if not any((import_root / "uploads").glob("*")):
        shutil.rmtree(import_root / "uploads", ignore_errors=True)


def rel(path: Path) -> str:
    """``path`` relative to MOP_IMPORT_DIR (a symlink itself, not what it points to)."""
    return str((path.parent.resolve() / path.name).relative_to(Path(settings.MOP_IMPORT_DIR).resolve()))


def make_sqlite(path: Path, ddl: str, rows: dict[str, list[tuple[Any, ...]]] | None = None) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(ddl)
    with conn:
        for table, values in (rows or {}).items():
            marks = ", ".join("?" * len(values[0]))
            conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)  # noqa: S608 - test data
    conn.close()
    return path


@pytest.fixture
def fts_sqlite(import_dir: Path) -> Path:
    """parent/child with one orphaned child, and an FTS5 table (skipped with its shadow tables)."""
    return make_sqlite(import_dir / "fts.sqlite", FTS_DDL, {
        "parent": [(1, "a"), (2, "b")],
        "child": [(1, 1, 5, "x"), (2, 9, 6, "orphan"), (3, 2, 7, "z")],
        "docs_fts": [("t", "body")],
    })


@pytest.fixture
def fts_target(make_database, billing_project: AlembicProject) -> Target:
    conn = make_database("copyfts")
    pg_exec(conn, "CREATE TABLE parent (id bigint PRIMARY KEY, name text NOT NULL);"
                  "CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent (id), qty integer, note text)")
    return target_for(conn, billing_project, name="fts-target")


@pytest.fixture
def billing_sqlite(import_dir: Path) -> tuple[Path, Manifest]:
    """A small generated billing file with planted rejects and orphans (bench/gen_billing_sqlite.py).

    Every planted reject stays, the invalid UTF-8 text included: the copy rejects that row and the
    verification reports its key as missing in the target.
    """
    path = import_dir / "billing.sqlite"
    return path, generate(path, 300, seed=7)


@pytest.fixture
def make_billing_target(make_database, billing_project: AlembicProject) -> Callable[..., Target]:
    """Targets with the typed billing schema the example project builds (the copy engine tests' DDL)."""

    def _make(name: str = "billing-copy", environment: str = "development") -> Target:
        conn = make_database("copy")
        pg_exec(conn, TYPED_TARGET_DDL)
        return target_for(conn, billing_project, name=name, environment=environment)

    return _make
