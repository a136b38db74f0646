"""Snapshots: read at one moment, stored as JSON, rebuilt identical."""

from __future__ import annotations

import json

from migrations_ops.locks import Snapshot, take_snapshot

from .conftest import Chain


def test_it_round_trips_a_snapshot_through_json(chain: Chain) -> None:
    snap = take_snapshot(chain.db.diag, long_transaction_seconds=0)

    stored = json.loads(json.dumps(snap.to_json()))  # what a JSONField gives back
    again = Snapshot.from_json(stored)

    assert again == snap
    assert Snapshot.from_json(json.dumps(snap.to_json())) == snap
    assert again.tree.roots[0].pid == chain.a.pid
    assert again.tree.roots[0].backend_start == chain.a.backend_start
    assert again.tree.find(chain.b.pid).run_id == 42
    assert again.summary.blocked == 3
    assert [x.pid for x in again.idle_in_transaction] == [chain.a.pid]
    assert again.long_transactions[0].pid == chain.a.pid
    assert stored["tree"]["roots"][0]["backend_start"] == chain.a.backend_start.isoformat()
    assert snap.target == chain.db.diag.where() and snap.seconds < 1
