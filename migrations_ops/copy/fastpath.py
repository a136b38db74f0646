"""Whole-column checks that let a batch skip the per-value converters when its values are already clean.

A batch is converted column by column. For each column a *fast check* runs
at C speed over all its values (``set(map(type, col))``, ``min``/``max``,
one ``join`` searched for NUL, ``datetime.fromisoformat`` through ``map``)
and either returns the column ready to send, or ``None``: then that column
of that batch takes the per-value converter of ``typemap``, which gives each
bad value its exact reject reason. A fast check never accepts a value the
converter would reject or change, so the result is the same either way; the
copy tests run both paths (the nasty file sends many batches down the slow one).

The decision is made per batch from the values themselves rather than from the
pre-flight ``typeof()`` profile, which describes the whole table: one epoch
number among ISO dates would otherwise slow every batch of the column.

>>> fast_check(TargetType("int4"))((1, None, 7))
(1, None, 7)
>>> fast_check(TargetType("int4"))((1, "7")) is None
True
>>> fast_check(TargetType("text"))(("a", "", None)), fast_check(TargetType("text"))(("a\\x00",))
(('a', '', None), None)
>>> fast_check(TargetType("timestamptz"))(("2024-03-01T10:00:00", None))
[datetime.datetime(2024, 3, 1, 10, 0, tzinfo=datetime.timezone.utc), None]
>>> fast_check(TargetType("jsonb"))(('{"a": 1}', None)), fast_check(TargetType("jsonb"))(('{"a": 1} x',))
(('{"a": 1}', None), None)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from itertools import compress, repeat
from operator import attrgetter, is_not, itemgetter
from typing import Any

from .typemap import _INT_BOUNDS, _JSON, UTC, TargetType

NoneType = type(None)
Column = Sequence[Any]
FastCheck = Callable[[Column], "Column | None"]

_ISO = dt.datetime.fromisoformat
_TZ = attrgetter("tzinfo")
_END = itemgetter(1)
_SCAN = _JSON.scan_once  # the C scanner json.loads uses, with our parse_constant (NaN refused)


def _non_null(col: Column) -> Column:
    return col if None not in col else list(compress(col, map(is_not, col, repeat(None))))


def _only(col: Column, *types: type) -> bool:
    return set(map(type, col)) <= {NoneType, *types}


def _int(lo: int, hi: int) -> FastCheck:
    def check(col: Column) -> Column | None:
        if not _only(col, int):
            return None
        vals = _non_null(col)
        return col if not vals or (lo <= min(vals) and max(vals) <= hi) else None

    return check


def _float8(col: Column) -> Column | None:
    return col if _only(col, float) else None


def _text(length: int | None) -> FastCheck:
    def check(col: Column) -> Column | None:
        if not _only(col, str) or "\x00" in "".join(filter(None, col)):
            return None
        if length is not None and max(map(len, filter(None, col)), default=0) > length:
            return None
        return col

    return check


def _timestamptz(col: Column) -> Column | None:
    if not _only(col, str):
        return None
    try:
        out = list(map(_ISO, col)) if None not in col else [None if v is None else _ISO(v) for v in col]
    except ValueError:
        return None
    zones = set(map(_TZ, filter(None, out)))
    if None in zones:  # naive text is UTC, as typemap.to_timestamptz says
        out = [d if d is None or d.tzinfo is not None else d.replace(tzinfo=UTC) for d in out]
    return out


def _json(jsonb: bool) -> FastCheck:
    def check(col: Column) -> Column | None:
        if not _only(col, str) or "" in col:
            return None
        vals = _non_null(col)
        try:
            ends = list(map(_END, map(_SCAN, vals, repeat(0))))
        except (StopIteration, ValueError):
            return None
        if ends != list(map(len, vals)) or (jsonb and "\\u0000" in "".join(vals)):
            return None  # trailing text, surrounding blanks or a possible NUL: let the converter decide
        return col

    return check


def _bool(col: Column) -> Column | None:
    if not _only(col, int) or not set(col) <= {0, 1, None}:
        return None
    return [None if v is None else v == 1 for v in col]


def fast_check(target: TargetType) -> FastCheck:
    """The whole-column check for a target type; types without one always take the per-value path."""
    name = target.name
    if name in _INT_BOUNDS:
        return _int(*_INT_BOUNDS[name])
    if name == "float8":
        return _float8
    if name in ("text", "varchar"):
        return _text(target.length)
    if name == "timestamptz":
        return _timestamptz
    if name in ("json", "jsonb"):
        return _json(name == "jsonb")
    if name == "bool":
        return _bool
    return lambda col: None
