"""Predicted rejects: what the copy will refuse, per column and reason, before anything is written.

The prediction must equal what the copy records, so it never judges a value by
rules of its own. Steps, per table:

1. one SQLite scan classifies every value of every copied column with
   *sure* predicates (``typeof()``, ``BETWEEN``, ``GLOB``, ``length()``,
   ``strftime``, ``json_valid``) that only ever accept values the copy's
   converter accepts unchanged; text that is not pure ASCII is *pending*;
2. per text column holding pending values, one ``group_concat`` of them
   (joined by a newline) is decoded as UTF-8: all valid at once, or the
   column's pending values join the undecided ones;
3. the undecided values (and NULLs of NOT NULL columns) are read, as the copy
   reads them, and passed through the copy's own converter
   (``typemap.converter`` with the column's epoch unit, the text policy and
   the float4 option): its ``Reject`` codes are the predicted rejects, its
   ``replaced`` notes the predicted warnings.

A sure predicate may send a value the converter accepts to step 3 (that
costs time, not truth); it must never accept a value the converter rejects.
What is not predicted: rows the server refuses (duplicate keys, CHECK
constraints), which no scan of the source alone can know.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from . import source
from .options import ColumnPlan, CopyOptions
from .typemap import _INT_BOUNDS, Reject, _show, converter

_UNDECIDED = 1 << 32
"""Weight of an undecided value in the scan's per-column sum (pending values weigh 1)."""
_EXAMPLE_CODES = 8
_NON_ASCII = "*[^\x01-\x7f]*"
_CONTROL = "*[\x01-\x1f]*"
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_TS_GLOB = _DATE_GLOB + "[T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]*"
_ZONES = ("", "Z", "[+-][01][0-9]:[0-5][0-9]")
_FRACTIONS = ("", ".[0-9][0-9][0-9]", ".[0-9][0-9][0-9][0-9][0-9][0-9]")
_HEX = "[0-9a-fA-F]"
_UUID_GLOB = "-".join(_HEX * n for n in (8, 4, 4, 4, 12))
_BOOL_WORDS = ("0", "1", "t", "f", "true", "false", "T", "F", "TRUE", "FALSE", "True", "False")
_EPOCH_SURE = {"s": 6e10, "ms": 6e13}
"""Epoch numbers below this magnitude are years 70 to 3870: inside every converter's range."""
_FLOAT4_MIN_NORMAL = 1.1754943508222875e-38
_ROWID = {alias: sql.SQL(alias) for alias in ("rowid", "_rowid_", "oid")}


@dataclass(frozen=True, slots=True)
class PredictedReject:
    """Values of one column the copy will reject (or warn about) for one reason code, with one example."""

    table: str
    column: str
    code: str
    values: int
    example_key: str
    example_value: str
    example_reason: str


@dataclass(frozen=True, slots=True)
class TablePrediction:
    """One table's predicted rejects: rows lost, per column and reason, and how much Python had to judge."""

    table: str
    rows_rejected: int
    rejects: tuple[PredictedReject, ...] = ()
    warnings: tuple[PredictedReject, ...] = ()
    values_checked_in_python: int = 0

    def counts(self) -> dict[tuple[str, str], int]:
        """``{(column, code): values}`` of the rejects, the shape the copy's own rejects are compared in."""
        return {(r.column, r.code): r.values for r in self.rejects}


@dataclass
class _Tally:
    """Counts per (column, code) and the first example of each."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    examples: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)

    def add(self, column: str, code: str, key: str, value: str, reason: str) -> None:
        k = (column, code)
        self.counts[k] = self.counts.get(k, 0) + 1
        self.examples.setdefault(k, (key, value, reason))

    def rows(self, table: str) -> tuple[PredictedReject, ...]:
        return tuple(PredictedReject(table, c, code, n, *self.examples[(c, code)])
                     for (c, code), n in sorted(self.counts.items()))


def predict_table(
    src: sqlite3.Connection, st: source.SourceTable, columns: Sequence[ColumnPlan], options: CopyOptions | None = None,
) -> TablePrediction:
    """Predict the rejects of copying ``columns`` of source table ``st`` (reads the SQLite file only).

    :param columns: the copy's column plans (``ranges.match_columns``: target types and epoch units).
    :param options: the copy's options (text policy, float4 rounding).
    """
    opts = options or CopyOptions()
    if not columns:
        return TablePrediction(st.name, 0)
    sure = [_sure(c, opts) for c in columns]
    undecided, pending = _scan(src, st.name, columns, sure)
    for i, c in enumerate(columns):
        if pending[i] and not _all_utf8(src, st.name, c.source, sure[i][1]):
            undecided[i] += pending[i]
            sure[i] = (sure[i][0], None)
    rejects, warnings = _Tally(), _Tally()
    failed_rows: set[Any] = set()
    checked = 0
    for i, c in enumerate(columns):
        if undecided[i]:
            checked += _judge(src, st, c, sure[i], opts, rejects, warnings, failed_rows)
    return TablePrediction(st.name, len(failed_rows), rejects.rows(st.name), warnings.rows(st.name), checked)


def _scan(src: sqlite3.Connection, table: str, columns: Sequence[ColumnPlan],
          sure: list[tuple[sql.Composable, sql.Composable | None]]) -> tuple[list[int], list[int]]:
    """Step 1: per column, how many values are undecided and how many pending (one pass over the table)."""
    parts = [sql.SQL("sum({})").format(_weight(c, ok, pend)) for c, (ok, pend) in zip(columns, sure, strict=True)]
    stmt = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts), sql.Identifier(table))
    row = src.execute(stmt.as_string(None)).fetchone()
    sums = [int(v or 0) for v in row]
    return [s >> 32 for s in sums], [s & 0xFFFFFFFF for s in sums]


def _weight(c: ColumnPlan, ok: sql.Composable, pending: sql.Composable | None) -> sql.Composable:
    """0 for a sure value, 1 for a pending one, ``_UNDECIDED`` for the rest (NULL: by the target's NOT NULL)."""
    col = sql.Identifier(c.source)
    null = sql.Literal(_UNDECIDED if c.type.not_null else 0)
    pend = sql.SQL("WHEN {} THEN 1 ").format(pending) if pending is not None else sql.SQL("")
    return sql.SQL("CASE WHEN {col} IS NULL THEN {null} WHEN {ok} THEN 0 {pend}ELSE {und} END").format(
        col=col, null=null, ok=ok, pend=pend, und=sql.Literal(_UNDECIDED))


def _all_utf8(src: sqlite3.Connection, table: str, column: str, pending: sql.Composable | None) -> bool:
    """Step 2: whether every pending (non-ASCII) text of the column is valid UTF-8, by one decode.

    Joined by an ASCII newline, a truncated sequence at the end of one value
    cannot complete with the start of the next: the whole decodes iff each does.
    """
    if pending is None:
        return False
    stmt = sql.SQL("SELECT group_concat(CAST({c} AS BLOB), x'0a') FROM {t} WHERE {p}").format(
        c=sql.Identifier(column), t=sql.Identifier(table), p=pending)
    factory = src.text_factory
    src.text_factory = bytes
    try:
        blob = src.execute(stmt.as_string(None)).fetchone()[0]
    finally:
        src.text_factory = factory
    try:
        bytes(blob or b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _judge(src: sqlite3.Connection, st: source.SourceTable, c: ColumnPlan,
           sure: tuple[sql.Composable, sql.Composable | None], opts: CopyOptions,
           rejects: _Tally, warnings: _Tally, failed_rows: set[Any]) -> int:
    """Step 3: read the column's undecided values and pass each through the copy's converter."""
    ok, pending = sure
    col = sql.Identifier(c.source)
    keep = sql.SQL("{} OR {}").format(ok, pending) if pending is not None else ok
    nulls = sql.SQL("{} IS NULL").format(col) if c.type.not_null else sql.SQL("FALSE")
    key = _ROWID.get(st.key or "", sql.SQL("NULL"))
    pks = [sql.Identifier(p) for p in st.pk_columns]
    stmt = sql.SQL("SELECT {key}, {pks}{col} FROM {t} WHERE {nulls} OR ({col} IS NOT NULL AND NOT ({keep}))").format(
        key=key, pks=sql.SQL("").join(sql.SQL("{}, ").format(p) for p in pks), col=col, t=sql.Identifier(st.name),
        nulls=nulls, keep=keep)
    notes: list[str] = []
    conv = converter(c.type, epoch_unit=c.epoch_unit, text_policy=opts.text_policy, notes=notes,
                     accept_float4_rounding=opts.accept_float4_rounding)
    n = 0
    for row in src.execute(stmt.as_string(None)):
        n += 1
        rowid, pk, v = row[0], row[1:-1], row[-1]
        key_text = ", ".join(str(x) for x in pk) if pk else f"rowid:{rowid}"
        if v is None:
            rejects.add(c.source, "null_in_not_null", key_text, "NULL",
                        f"null_in_not_null: target column {c.target} is NOT NULL")
            failed_rows.add(rowid if rowid is not None else pk)
            continue
        notes.clear()
        try:
            conv(v)
        except Reject as r:
            rejects.add(c.source, r.code, key_text, _show(v), r.reason)
            failed_rows.add(rowid if rowid is not None else pk)
            continue
        for note in notes:
            warnings.add(c.source, note.split(":", 1)[0], key_text, _show(v), note)
    return n


# --- sure predicates, per target type ------------------------------------------------------


def _sure(c: ColumnPlan, opts: CopyOptions) -> tuple[sql.Composable, sql.Composable | None]:
    """``(sure, pending)`` SQLite predicates for a non-NULL value of the column; pending is for text kinds.

    >>> from .typemap import TargetType
    >>> ok, pend = _sure(ColumnPlan("n", "n", TargetType("int4")), CopyOptions())
    >>> print(ok.as_string(None), pend)
    typeof("n") = 'integer' AND "n" BETWEEN  -2147483648 AND 2147483647 None
    """
    col = sql.Identifier(c.source)
    name = c.type.name
    if name in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[name]
        return _fmt("typeof({c}) = 'integer' AND {c} BETWEEN {lo} AND {hi}", col, lo=lo, hi=hi), None
    if name == "float8":
        return _fmt("typeof({c}) = 'real' OR (typeof({c}) = 'integer' AND abs({c}) <= {m})", col, m=2**53), None
    if name == "float4":
        return _float4(col, opts.accept_float4_rounding), None
    if name == "numeric":
        return _numeric(col, c.type.precision, c.type.scale), None
    if name == "bool":
        return _fmt("(typeof({c}) IN ('integer', 'real') AND {c} IN (0, 1)) OR (typeof({c}) = 'text' AND {c} IN ({w}))",
                    col, w=sql.SQL(", ").join(map(sql.Literal, _BOOL_WORDS))), None
    if name in ("timestamptz", "timestamp"):
        return sql.SQL("({}) OR ({}) OR ({})").format(
            _iso_timestamp(col), _iso_date(col), _epoch(col, c.epoch_unit)), None
    if name == "date":
        return _iso_date(col), None
    if name in ("json", "jsonb"):
        return _json(col, name == "jsonb")
    if name == "uuid":
        return _fmt("(typeof({c}) = 'text' AND {c} GLOB {g}) OR (typeof({c}) = 'blob' AND length({c}) = 16)",
                    col, g=_UUID_GLOB), None
    if name == "bytea":
        return _fmt("typeof({c}) IN ('blob', 'text')", col), None
    return _text(col, c.type.length)


def _fmt(template: str, col: sql.Composable, **values: Any) -> sql.Composable:
    """A predicate from a constant template: the column as identifier, constants as literals (never formatted)."""
    parts = {k: v if isinstance(v, sql.Composable) else sql.Literal(v) for k, v in values.items()}
    return sql.SQL(template).format(c=col, **parts)


def _text_clean(col: sql.Composable, length: int | None, ascii_only: bool) -> sql.Composable:
    """Text without NUL (and within ``length`` characters), pure ASCII or not."""
    glob = "NOT GLOB" if ascii_only else "GLOB"
    cond = _fmt("typeof({c}) = 'text' AND {c} " + glob + " {na} AND instr(CAST({c} AS BLOB), x'00') = 0",
                col, na=_NON_ASCII)
    if length is not None:
        cond = sql.SQL("{} AND length({}) <= {}").format(cond, col, sql.Literal(length))
    return cond


def _text(col: sql.Composable, length: int | None) -> tuple[sql.Composable, sql.Composable]:
    """Text targets: ASCII text and integers are sure (reals too when unbounded); other text is pending."""
    numbers = (_fmt("typeof({c}) IN ('integer', 'real')", col) if length is None else
               _fmt("typeof({c}) = 'integer' AND length(CAST({c} AS TEXT)) <= {n}", col, n=length))
    ok = sql.SQL("({}) OR ({})").format(_text_clean(col, length, True), numbers)
    return ok, _text_clean(col, length, False)


def _json(col: sql.Composable, jsonb: bool) -> tuple[sql.Composable, sql.Composable]:
    """JSON targets: text SQLite's ``json_valid`` accepts, without control characters (or ``\\u0000`` for jsonb)."""
    valid = _fmt("json_valid({c}) AND {c} NOT GLOB {ctl}", col, ctl=_CONTROL)
    if jsonb:
        valid = sql.SQL("{} AND instr({}, char(92) || 'u0000') = 0").format(valid, col)  # the text \\u0000
    ok = sql.SQL("({} AND {}) OR typeof({}) = 'integer'").format(_text_clean(col, None, True), valid, col)
    return ok, sql.SQL("{} AND {}").format(_text_clean(col, None, False), valid)


def _float4(col: sql.Composable, rounding: bool) -> sql.Composable:
    """Integers and reals a 4-byte real holds exactly; with rounding accepted, any normal-range real."""
    exact = _fmt("typeof({c}) IN ('integer', 'real') AND abs({c}) <= {m} AND {c} = CAST({c} AS INTEGER)", col, m=2**24)
    if not rounding:
        return exact
    return sql.SQL("({}) OR {}").format(exact, _fmt(
        "(typeof({c}) = 'real' AND abs({c}) BETWEEN {lo} AND {hi}) OR (typeof({c}) = 'integer' AND abs({c}) <= {m})",
        col, lo=_FLOAT4_MIN_NORMAL, hi=3.4e38, m=2**53))


def _numeric(col: sql.Composable, precision: int | None, scale: int | None) -> sql.Composable:
    """Integers that fit the integer digits of numeric(p, s); every REAL goes through the converter."""
    if precision is None:
        return _fmt("typeof({c}) = 'integer'", col)
    digits = precision - (scale or 0)
    if not 1 <= digits <= 18:
        return sql.SQL("FALSE")
    return _fmt("typeof({c}) = 'integer' AND abs({c}) < {lim}", col, lim=10**digits)


def _iso_date(col: sql.Composable) -> sql.Composable:
    """``YYYY-MM-DD`` naming a real day (SQLite's ``+0 days`` normalises Feb 30 to Mar 1), years 2 to 9998."""
    return _fmt("typeof({c}) = 'text' AND length({c}) = 10 AND {c} GLOB {g} AND substr({c}, 1, 4) BETWEEN '0002' "
                "AND '9998' AND date({c}, '+0 days') = {c}", col, g=_DATE_GLOB)


def _iso_timestamp(col: sql.Composable) -> sql.Composable:
    """ISO date-time naming a real moment, with no, a 3- or a 6-digit fraction and no zone, ``Z`` or ``±hh:mm``."""
    tails = sql.SQL(" OR ").join(
        sql.SQL("substr({}, 20) GLOB {}").format(col, sql.Literal(f + z)) for f in _FRACTIONS for z in _ZONES)
    return sql.SQL("{} AND ({})").format(_fmt(
        "typeof({c}) = 'text' AND {c} GLOB {g} AND substr({c}, 1, 4) BETWEEN '0002' AND '9998' "
        "AND strftime('%Y-%m-%dT%H:%M:%S', substr({c}, 1, 19), '+0 seconds') = replace(substr({c}, 1, 19), ' ', 'T')",
        col, g=_TS_GLOB), tails)


def _epoch(col: sql.Composable, unit: str) -> sql.Composable:
    """Epoch numbers well inside every converter's range, in the column's unit."""
    return _fmt("typeof({c}) IN ('integer', 'real') AND abs({c}) < {lim}", col, lim=_EPOCH_SURE.get(unit, 0))
