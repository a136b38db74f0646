"""The copy's SQL lives in migrations_ops/queries/copy_*.sql and its lock is advisory.py's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from copy_helpers import pg

from migrations_ops import advisory, queries
from migrations_ops.copy.store import ensure_schema, release_target_lock, take_target_lock

ROOT = Path(__file__).resolve().parents[3]
COPY_DIR = ROOT / "migrations_ops" / "copy"
INLINE_SQL = re.compile(r"""(?<!["'])["']\s*(SELECT|INSERT|UPDATE|DELETE|ALTER|CREATE|DROP|ANALYZE|COPY)\s""")


def test_it_keeps_every_copy_query_in_a_file_with_a_returns_header() -> None:
    names = [n for n in queries.names() if n.startswith("copy_")]
    assert len(names) > 40
    for name in names:
        assert queries.get(name).startswith("-- returns:"), name
    used = set()
    for path in COPY_DIR.glob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'\b[qt]\(\s*"(copy_[a-z0-9_]+)"', text))
        used |= set(re.findall(r'"(copy_advisory_[a-z_]+)"', text))
        if path.name != "source.py":  # SQLite statements, composed with sq() and its quoting
            assert not INLINE_SQL.search(text), f"inline SQL in {path.name}"
    assert used == set(names), (used ^ set(names))


def test_it_ships_the_query_files_with_the_package() -> None:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "queries/*.sql" in cfg["tool"]["setuptools"]["package-data"]["migrations_ops"]


def test_it_takes_the_lock_the_migration_runner_takes(target_db) -> None:
    with pg(target_db) as mine, pg(target_db) as other:
        ensure_schema(mine)
        take_target_lock(mine)
        held = advisory.holder(lambda q, p: other.execute(q, p).fetchone())
        assert held.pid == mine.info.backend_pid
        assert not advisory.try_lock(lambda q, p: other.execute(q, p).fetchone())
        release_target_lock(mine)
        assert advisory.try_lock(lambda q, p: other.execute(q, p).fetchone())
