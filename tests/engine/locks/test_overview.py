"""read_overview: every session and pg_locks by relation, from backends that really wait (no portal)."""

from __future__ import annotations

from migrations_ops.locks.overview import read_overview
from tests.engine.locks.conftest import Chain


def test_it_lists_every_session_and_the_relation_they_wait_on_first(chain: Chain) -> None:
    view = read_overview(chain.db.diag)
    pids = {s.pid for s in view.sessions}
    assert {chain.a.pid, chain.b.pid, chain.c.pid, chain.d.pid} <= pids
    first = view.relations[0]
    assert first.relation == "t" and first.schema == "public" and first.waiting
    waiting = {g.mode: set(g.pids) for g in first.groups if not g.granted}
    assert waiting["AccessExclusiveLock"] == {chain.b.pid}
    assert waiting["AccessShareLock"] == {chain.c.pid, chain.d.pid}
    assert view.waiting_pids == {chain.b.pid, chain.c.pid, chain.d.pid}
    held = [g for g in first.groups if g.granted]
    assert any(chain.a.pid in g.pids and g.mode == "RowExclusiveLock" for g in held)
