"""The whole-column fast checks never disagree with the per-value converters they skip."""

from __future__ import annotations

import datetime as dt
import doctest

import pytest

from migrations_ops.copy import fastpath, typemap
from migrations_ops.copy.fastpath import fast_check
from migrations_ops.copy.typemap import BadUtf8, Reject, TargetType, converter

COLUMNS = {  # target type: batches (columns of values) to try
    TargetType("int4"): [(1, None, 2**31 - 1), (1, 2**31), (1, "2"), (1, 2.0), (None, None)],
    TargetType("int2"): [(1, -(2**15)), (1, 2**15)],
    TargetType("float8"): [(0.1, None, 1e308), (1.0, 2), (1.0, "2")],
    TargetType("text"): [("日本 🎉", "", None), ("a\x00b", "c"), ("a", 1), ("a", BadUtf8(b"\xff"))],
    TargetType("varchar", length=3): [("abc", "é日本", None), ("abcd",)],
    TargetType("timestamptz"): [
        ("2024-03-01T10:00:00Z", "2024-03-01 10:00:00", "2024-03-01", None),
        ("2024-03-01T19:00:00+09:00", "2024-03-01T10:00:00.250000"),
        ("2024-02-30T10:00:00",), ("2024-03-01", 1709287200), (" 2024-03-01",)],
    TargetType("jsonb"): [('{"a": [1, "日本"]}', "12", None), ('{"a": 1', "1"), ("NaN",), ("",), (' {"a": 1}',),
                          ('{"a": "\\u0000"}',), ('{"a": 1} ',), ("[1] x",)],
    TargetType("json"): [('{"a": "\\u0000"}', "null"), ("nul",)],
    TargetType("bool"): [(0, 1, None), (2, 1), ("t", 1)],
}


def _slow(target: TargetType, col: tuple) -> list | None:
    conv = converter(target, notes=[])
    try:
        return [None if v is None else conv(v) for v in col]
    except Reject:
        return None


@pytest.mark.parametrize("target", list(COLUMNS), ids=lambda t: f"{t.name}{t.length or ''}")
def test_it_gives_what_the_converter_gives_or_steps_aside(target: TargetType) -> None:
    taken = 0
    for col in COLUMNS[target]:
        fast = fast_check(target)(col)
        if fast is None:
            continue
        taken += 1
        slow = _slow(target, col)
        assert slow is not None, (target, col, "fast path accepted a column the converter rejects")
        assert list(fast) == slow and [type(v) for v in fast] == [type(v) for v in slow], (target, col)
        assert all(d.tzinfo is not None for d in fast if isinstance(d, dt.datetime))
    assert taken >= 1, "each type has at least one batch on the fast path"


def test_it_passes_the_fastpath_doctests() -> None:
    assert doctest.testmod(fastpath).failed == 0 and doctest.testmod(typemap).failed == 0
