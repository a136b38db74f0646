"""One timestamp column with epoch seconds and milliseconds: counted by the pre-flight, each value kept.

Read by one unit for the whole column, 1700000001 became 1970-01-20 and the
verification passed (it read by the same rule). Now the column is ``mixed``:
each number is read by its own magnitude by the copy and the verifier alike,
and the pre-flight names the column with both counts before anything runs.
"""

from __future__ import annotations

from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_database, preflight
from migrations_ops.verify import PASS, verify

SECONDS, MILLIS = 1_700_000_000, 1_700_000_000_000


def test_mixed_units_are_counted_before_and_kept_after(make_sqlite, target_db) -> None:
    rows = [(i, SECONDS + i if i % 3 else MILLIS + i * 1000) for i in range(1, 31)]  # 20 seconds, 10 ms
    rows += [(31, "2023-11-14T22:13:20Z"), (32, None)]
    path = make_sqlite("CREATE TABLE events (id INTEGER PRIMARY KEY, at TIMESTAMP);"
                       "CREATE TABLE clean (id INTEGER PRIMARY KEY, at TIMESTAMP);",
                       {"events": rows, "clean": [(i, MILLIS + i) for i in range(1, 6)]})
    pg_exec(target_db, "CREATE TABLE events (id bigint PRIMARY KEY, at timestamptz);"
                       "CREATE TABLE clean (id bigint PRIMARY KEY, at timestamptz)")
    report = preflight(path, target_db)
    assert report.table("events").mixed_epochs == {"at": (20, 10)}
    assert report.table("clean").mixed_epochs == {}
    [line] = [p for p in report.problems if "events.at" in p]
    assert "20 number(s) read as seconds, 10 as milliseconds" in line
    assert report.to_dict()["tables"][0]["mixed_epochs"] or report.to_dict()["tables"][1]["mixed_epochs"]

    summary = copy_database(path, target_db, CopyOptions(), copy_id="mixed")
    assert summary.outcome[0] == "succeeded"
    years = pg_exec(target_db, "SELECT DISTINCT extract(year FROM at AT TIME ZONE 'UTC')::int FROM events "
                               "WHERE at IS NOT NULL")
    assert years == [(2023,)]
    assert pg_exec(target_db, "SELECT count(*) FROM events WHERE at < '2000-01-01'") == [(0,)]
    result = verify(target_db, path)
    assert result.status == PASS, result.problems()
    # a value moved by a whole unit is seen: the verifier does not read it the copy's way by accident
    pg_exec(target_db, "UPDATE events SET at = to_timestamp(1700000001 / 1000.0) WHERE id = 1")
    changed = verify(target_db, path)
    assert changed.status != PASS and changed.table("events").status != PASS
