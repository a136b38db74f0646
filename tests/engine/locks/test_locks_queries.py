"""SQL files: each says what it returns; loading is cached; a slow diagnostic is cut off."""

from __future__ import annotations

import doctest

import pytest

from migrations_ops import queries
from migrations_ops.locks import connection, models, render
from migrations_ops.locks.connection import diag_connection, fetch_all
from migrations_ops.locks.errors import DiagnosticsTimeout

from .conftest import LockDB

MINE = ("activity_summary", "backend_row", "blocking_sessions", "sessions", "signal_backend", "waiting_pids")


@pytest.mark.parametrize("name", MINE)
def test_it_heads_every_query_with_what_it_returns(name: str) -> None:
    assert queries.get(name).startswith("-- returns:")
    assert queries.get(name) is queries.get(name)  # read once


def test_it_picks_the_newest_variant_for_the_server(tmp_path, monkeypatch) -> None:
    for stem in ("q", "q_post_130000", "q_post_160000"):
        (tmp_path / f"{stem}.sql").write_text(f"-- returns: {stem}\n")
    monkeypatch.setattr(queries, "QUERIES_DIR", tmp_path)
    queries._variant.cache_clear()
    queries._read.cache_clear()
    try:
        assert queries.get("q", 120000) == "-- returns: q\n"
        assert queries.get("q", 150007) == "-- returns: q_post_130000\n"
        assert queries.get("q", 170000) == "-- returns: q_post_160000\n"
    finally:
        queries._variant.cache_clear()
        queries._read.cache_clear()


def test_it_cuts_off_a_slow_diagnostic_query(lock_db: LockDB, tmp_path, monkeypatch) -> None:
    (tmp_path / "slow.sql").write_text("-- returns: nothing, slowly\nSELECT pg_sleep(2) AS slept\n")
    monkeypatch.setattr(queries, "QUERIES_DIR", tmp_path)
    queries._read.cache_clear()
    try:
        with diag_connection(lock_db.diag) as conn, pytest.raises(DiagnosticsTimeout, match="100 ms") as exc:
            fetch_all(conn, "slow", dict)
        assert exc.value.retryable
    finally:
        queries._read.cache_clear()


@pytest.mark.parametrize("module", [queries, models, render, connection])
def test_it_passes_its_doctests(module) -> None:
    assert doctest.testmod(module).failed == 0


@pytest.mark.parametrize(
    ("name", "params"),
    [("activity_summary", None), ("blocking_sessions", None), ("waiting_pids", {"pids": [1, 2]})],
)
def test_it_calls_pg_blocking_pids_only_for_sessions_waiting_on_a_lock(
    lock_db: LockDB, name: str, params: dict | None
) -> None:
    with diag_connection(lock_db.diag) as conn:
        plan = [r[0] for r in conn.execute("EXPLAIN (VERBOSE) " + queries.get(name), params).fetchall()]
    calls = [line for line in plan if "pg_blocking_pids(" in line]
    assert calls, plan
    for line in calls:
        assert line.count("pg_blocking_pids(") == line.count("wait_event_type = 'Lock'::text) THEN "), line
