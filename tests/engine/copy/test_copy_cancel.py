"""A range cancelled in the middle of its COPY stream leaves nothing behind and is redone on resume."""

from __future__ import annotations

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_range, finish_copy, plan_ranges
from migrations_ops.errors import Cancelled


def test_it_rolls_back_a_range_cancelled_mid_stream(make_sqlite, target_db) -> None:
    path = make_sqlite("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);", {"t": [(i, f"v{i}") for i in range(1, 1001)]})
    pg_exec(target_db, "CREATE TABLE t (id int PRIMARY KEY, v text)")
    opts = CopyOptions(batch_rows=100, defer_constraints=True)
    [spec] = plan_ranges(path, target_db, "cx", options=opts)
    calls = iter(range(10**6))
    with pytest.raises(Cancelled):
        copy_range(path, target_db, spec, opts, should_cancel=lambda: next(calls) >= 3)
    assert pg_exec(target_db, "SELECT count(*) FROM t") == [(0,)]
    assert pg_exec(target_db, "SELECT count(*) FROM mop.copy_checkpoint") == [(0,)]
    assert copy_range(path, target_db, spec, opts).rows_copied == 1000
    finish_copy(target_db, "cx")
    assert pg_exec(target_db, "SELECT count(*), count(DISTINCT id) FROM t") == [(1000, 1000)]
