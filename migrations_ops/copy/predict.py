"""Predicted rejects: what the copy will refuse, per column and reason, before anything is written.

The prediction must equal what the copy records, so it never judges a value by
rules of its own. A table the copy reads through the C row codec is read the
same way (``_predict_compiled``): the rows the codec cannot send as they are go
through the converters, as in the copy. Any other table, in three steps:

1. one SQLite scan classifies every value of every copied column with
   *sure* predicates (``typeof()``, ``BETWEEN``, ``GLOB``, ``length()``,
   ``date``, ``json_valid``) that only ever accept values the copy's
   converter accepts unchanged; text for a text-like column is *pending*;
2. per text column, a ``group_concat`` of its pending values (joined by a
   newline, 100,000 keys at a time, every text column in one pass) is decoded
   as UTF-8 and searched for NUL in one go: a chunk that fails is halved down
   to small ones read value by value, and only the values that fail join the
   undecided ones;
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

import itertools
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg import sql

from . import compiled, source
from .options import ColumnPlan, CopyOptions, RangeSpec
from .rejects import reject_key
from .sqlfiles import t
from .typemap import _INT_BOUNDS, Reject, _show, converter

_UNDECIDED = 1 << 32
"""Weight of an undecided value in the scan's per-column sum (pending values weigh 1)."""
_DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_TS_GLOB_STRICT = "[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9]:[0-5][0-9]*"
_ZONES = ("", "Z", "[+-][01][0-9]:[0-5][0-9]")
_FRACTIONS = ("", ".[0-9][0-9][0-9]", ".[0-9][0-9][0-9][0-9][0-9][0-9]")
_HEX = "[0-9a-fA-F]"
_UUID_GLOB = "-".join(_HEX * n for n in (8, 4, 4, 4, 12))
_BOOL_WORDS = ("0", "1", "t", "f", "true", "false", "T", "F", "TRUE", "FALSE", "True", "False")
_EPOCH_SURE = {"s": 6e10, "ms": 6e13, "mixed": 6e10}
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
        """Count one value; the first one of its column and code is the example."""
        k = (column, code)
        self.counts[k] = self.counts.get(k, 0) + 1
        self.examples.setdefault(k, (key, value, reason))

    def rows(self, table: str) -> tuple[PredictedReject, ...]:
        """The tally as report rows, by column then code."""
        return tuple(PredictedReject(table, c, code, n, *self.examples[(c, code)])
                     for (c, code), n in sorted(self.counts.items()))


def predict_table(
    src: sqlite3.Connection, st: source.SourceTable, columns: Sequence[ColumnPlan], options: CopyOptions | None = None,
    sqlite_path: str | Path | None = None,
) -> TablePrediction:
    """Predict the rejects of copying ``columns`` of source table ``st`` (reads the SQLite file only).

    Where the copy would read the table through the C row codec, so does the
    prediction (``_predict_compiled``); elsewhere steps 1 to 3 above.

    :param columns: the copy's column plans (``ranges.match_columns``: target types and epoch units).
    :param options: the copy's options (text policy, float4 rounding).
    :param sqlite_path: the file ``src`` reads (the C codec opens it itself); None: SQL steps only.
    """
    return predict_profiled(src, st, columns, options, sqlite_path, profile=False)[0]


def predict_profiled(
    src: sqlite3.Connection, st: source.SourceTable, columns: Sequence[ColumnPlan], options: CopyOptions | None = None,
    sqlite_path: str | Path | None = None, *, profile: bool = True,
    replan: Callable[[compiled.ReadFigures], Sequence[ColumnPlan]] | None = None,
) -> tuple[TablePrediction, compiled.ReadFigures | None]:
    """``predict_table``, and the table's storage-class profile (every source column) counted on the same read
    when the C row codec reads the table (``compiled.scan_range``); None when it does not (count it apart).

    :param profile: False: the prediction only.
    :param replan: where the C codec reads the table, the same read also counts the time columns' epoch
        numbers (``ReadFigures.epochs``), and the slow rows are judged by the plans ``replan`` makes of them
        (``columns`` with the units found; read with unit ``mixed``, the slow rows are those of any unit).
    """
    opts = options or CopyOptions()
    if not columns:
        return TablePrediction(st.name, 0), None
    if sqlite_path is not None:
        spec = _whole_table(st, columns)
        codec = compiled.range_specs(spec)
        if codec is not None:
            return _predict_compiled(sqlite_path, spec, codec, opts, st if profile else None, replan=replan)
    sure = [_sure(c, opts) for c in columns]
    undecided, pending, keys = _scan(src, st, columns, sure)
    texts = [(c.source, sure[i][1]) for i, c in enumerate(columns) if pending[i]]
    found = dict(zip([n for n, _ in texts], _text_suspects(src, st, texts), strict=True))
    suspects: list[list[int]] = [[] for _ in columns]
    for i, c in enumerate(columns):
        if not pending[i]:
            continue
        if found[c.source] is None:  # no key to find them again by: every pending value goes through the converter
            undecided[i] += pending[i]
            sure[i] = (sure[i][0], None)
            keys[i] = None
        else:
            suspects[i] = found[c.source] or []
    rejects, warnings = _Tally(), _Tally()
    failed_rows: set[Any] = set()
    checked = 0
    for i, c in enumerate(columns):
        if undecided[i] or suspects[i]:
            by_key = keys[i] is not None and len(keys[i] or ()) <= _BY_KEY
            rows = _rows_by_key(src, st, c, (keys[i] or []) + suspects[i]) if by_key else itertools.chain(
                _rows_undecided(src, st, c, sure[i]), _rows_by_key(src, st, c, suspects[i]))
            checked += _judge(c, rows, opts, rejects, warnings, failed_rows)
    return TablePrediction(st.name, len(failed_rows), rejects.rows(st.name), warnings.rows(st.name), checked), None


def reads_compiled(st: source.SourceTable, columns: Sequence[ColumnPlan]) -> bool:
    """True when the prediction of ``columns`` (given the file's path) reads the table through the C row codec."""
    return bool(columns) and compiled.range_specs(_whole_table(st, columns)) is not None


def _whole_table(st: source.SourceTable, columns: Sequence[ColumnPlan]) -> RangeSpec:
    return RangeSpec("preflight", st.name, "", st.name, st.key, st.pk_columns, tuple(columns),
                     source.KEY_MIN, source.KEY_MAX)


def _predict_compiled(sqlite_path: str | Path, spec: RangeSpec, codec: list[tuple[int, int, bool]],
                      opts: CopyOptions, st: source.SourceTable | None, *,
                      replan: Callable[[compiled.ReadFigures], Sequence[ColumnPlan]] | None = None,
                      ) -> tuple[TablePrediction, compiled.ReadFigures | None]:
    """The copy's own first stage: the C row codec reads the table and hands back the rows it cannot send as
    they are (``compiled.scan_range``, the checks of ``read_range`` without keeping the bytes); those, and only
    those, go through the converters (step 3), as in ``writer._RangeJob._stream_compiled``. Keys as the
    copy's: copied primary key values, else ``rowid:N``. The same read counts the storage classes of every
    column of ``st`` (None: no figures) and, with ``replan``, the time columns' epoch numbers."""
    sources = [c.source for c in spec.columns]
    pk_idx = [sources.index(p) for p in spec.pk_columns if p in sources]
    slow, figures = compiled.scan_range(sqlite_path, spec, codec, [c.name for c in st.columns] if st else [],
                                        epochs=replan is not None)
    judged = spec.columns if replan is None else tuple(replan(figures))
    rejects, warnings = _Tally(), _Tally()
    failed_rows: set[Any] = set()
    checked = 0
    for i, c in enumerate(judged):
        rows = ((r[0], *(r[1 + j] for j in pk_idx), r[1 + i]) for r in slow)
        checked += _judge(c, rows, opts, rejects, warnings, failed_rows)
    return (TablePrediction(spec.table, len(failed_rows), rejects.rows(spec.table), warnings.rows(spec.table),
                            checked), figures if st else None)


def _scan(src: sqlite3.Connection, st: source.SourceTable, columns: Sequence[ColumnPlan],
          sure: list[tuple[sql.Composable, sql.Composable | None]],
          ) -> tuple[list[int], list[int], list[list[int] | None]]:
    """Step 1, one pass: per column, how many values are undecided and pending, and the undecided keys.

    The weights are computed once, in a subquery SQLite runs as a co-routine
    (``LIMIT -1`` keeps it from being flattened into the aggregates, which
    would evaluate each CASE twice). Without a rowid there are no keys (None).
    """
    key = _ROWID.get(st.key or "", sql.SQL("NULL"))
    weights = [sql.SQL("{} AS {}").format(_weight(c, ok, pend), sql.Identifier(f"w{i}"))
               for i, (c, (ok, pend)) in enumerate(zip(columns, sure, strict=True))]
    aggs = [sql.SQL("sum({w}), group_concat(CASE WHEN {w} >= {u} THEN k END)").format(
        w=sql.Identifier(f"w{i}"), u=sql.Literal(_UNDECIDED)) for i in range(len(columns))]
    stmt = t("copy_t_sqlite_predict_scan", aggregates=sql.SQL(", ").join(aggs), key=key,
             weights=sql.SQL(", ").join(weights), table=sql.Identifier(st.name))
    row = src.execute(stmt.as_string(None)).fetchone()
    sums = [int(v or 0) for v in row[0::2]]
    keys = [[int(k) for k in (ks or "").split(",") if k] if st.key else None for ks in row[1::2]]
    return [s >> 32 for s in sums], [s & 0xFFFFFFFF for s in sums], keys


def _weight(c: ColumnPlan, ok: sql.Composable, pending: sql.Composable | None) -> sql.Composable:
    """0 for a sure value, 1 for a pending one, ``_UNDECIDED`` for the rest (NULL: by the target's NOT NULL)."""
    col = sql.Identifier(c.source)
    null = sql.Literal(_UNDECIDED if c.type.not_null else 0)
    pend = sql.SQL("WHEN {} THEN 1 ").format(pending) if pending is not None else sql.SQL("")
    return sql.SQL("CASE WHEN {col} IS NULL THEN {null} WHEN {ok} THEN 0 {pend}ELSE {und} END").format(
        col=col, null=null, ok=ok, pend=pend, und=sql.Literal(_UNDECIDED))


_CHUNK_KEYS = 100_000


def _text_suspects(src: sqlite3.Connection, st: source.SourceTable,
                   texts: Sequence[tuple[str, sql.Composable | None]]) -> list[list[int] | None]:
    """Step 2: per text column, keys of pending text not valid UTF-8 or holding NUL (None: some, but no key).

    One pass concatenates the pending text of every column, 100,000 keys at a
    time, joined by an ASCII newline: a truncated sequence at the end of one
    value cannot complete with the start of the next, so a chunk decodes iff
    each of its values does. A chunk that fails is halved until it is under
    1,000 keys, then read value by value.
    """
    if not texts:
        return []
    key = _ROWID.get(st.key or "")
    table = sql.Identifier(st.name)
    parts = sql.SQL(" || x'0a' || ").join(
        sql.SQL("coalesce(CASE WHEN {} THEN CAST({} AS BLOB) END, x'')").format(p, sql.Identifier(c))
        for c, p in texts)
    if key is None:
        whole = t("copy_t_sqlite_text_concat", parts=parts, table=table, where=sql.SQL("1"))
        return [[] if _clean(_blob(src, whole.as_string(None), ())) else None for _ in texts]
    lo, hi = src.execute(t("copy_t_sqlite_key_bounds", key=key, table=table).as_string(None)).fetchone()
    if lo is None:
        return [[] for _ in texts]
    concat = t("copy_t_sqlite_text_concat", parts=parts, table=table,
               where=sql.SQL("{} BETWEEN ? AND ?").format(key)).as_string(None)
    each = t("copy_t_sqlite_text_values", key=key, table=table, columns=sql.SQL(", ").join(
        sql.SQL("CASE WHEN {} THEN CAST({} AS BLOB) END").format(p, sql.Identifier(c)) for c, p in texts)
             ).as_string(None)
    out: list[list[int] | None] = [[] for _ in texts]
    todo = [(a, min(a + _CHUNK_KEYS - 1, int(hi))) for a in range(int(lo), int(hi) + 1, _CHUNK_KEYS)]
    while todo:
        a, b = todo.pop()
        if _clean(_blob(src, concat, (a, b))):
            continue
        if b - a >= 1000:
            mid = (a + b) // 2
            todo += [(a, mid), (mid + 1, b)]
            continue
        for k, *values in src.execute(each, (a, b)):
            for j, v in enumerate(values):
                if v is not None and not _clean(v):
                    out[j].append(k)  # type: ignore[union-attr]
    return [sorted(x or []) for x in out]


def _blob(src: sqlite3.Connection, stmt: str, params: tuple[int, ...]) -> bytes:
    """The one value of ``stmt`` as raw bytes (text that is not UTF-8 must not fail the read)."""
    factory = src.text_factory
    src.text_factory = bytes
    try:
        return bytes(src.execute(stmt, params).fetchone()[0] or b"")
    finally:
        src.text_factory = factory


def _clean(data: bytes) -> bool:
    """Valid UTF-8 without NUL: text the converter accepts as it is."""
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_BY_KEY = 5000
"""Up to this many values of a column are read back one by one by key; more, by one more pass over the table."""


def _select(st: source.SourceTable, c: ColumnPlan, where: sql.Composable) -> str:
    """``(rowid, *pk, value)`` of one column's rows matching ``where`` (SQLite text)."""
    key = _ROWID.get(st.key or "", sql.SQL("NULL"))
    pks = sql.SQL("").join(sql.SQL("{}, ").format(sql.Identifier(p)) for p in st.pk_columns)
    return t("copy_t_sqlite_column_values", key=key, pks=pks, column=sql.Identifier(c.source),
             table=sql.Identifier(st.name), where=where).as_string(None)


def _rows_by_key(src: sqlite3.Connection, st: source.SourceTable, c: ColumnPlan, keys: Sequence[int]) -> Any:
    """``(rowid, *pk, value)`` of the rows with these rowids."""
    if not keys:
        return iter(())
    one = _select(st, c, sql.SQL("{} = ?").format(_ROWID[st.key or "rowid"]))
    return itertools.chain.from_iterable(src.execute(one, (k,)) for k in keys)


def _rows_undecided(src: sqlite3.Connection, st: source.SourceTable, c: ColumnPlan,
                    sure: tuple[sql.Composable, sql.Composable | None]) -> Any:
    """``(rowid, *pk, value)`` of the rows whose value is neither sure nor pending (NULLs of NOT NULL too)."""
    ok, pending = sure
    col = sql.Identifier(c.source)
    keep = sql.SQL("{} OR {}").format(ok, pending) if pending is not None else ok
    nulls = sql.SQL("{} IS NULL").format(col) if c.type.not_null else sql.SQL("FALSE")
    return src.execute(_select(st, c, sql.SQL("{} OR ({} IS NOT NULL AND NOT ({}))").format(nulls, col, keep)))


def _judge(c: ColumnPlan, rows: Any, opts: CopyOptions, rejects: _Tally, warnings: _Tally,
           failed_rows: set[Any]) -> int:
    """Step 3: pass each value through the copy's converter; count its rejects and warnings."""
    notes: list[str] = []
    conv = converter(c.type, epoch_unit=c.epoch_unit, text_policy=opts.text_policy, notes=notes,
                     accept_float4_rounding=opts.accept_float4_rounding)
    n = 0
    for row in rows:
        rowid, pk, v = row[0], row[1:-1], row[-1]
        if v is None and not c.type.not_null:
            continue
        n += 1
        key_text = reject_key(rowid, pk)
        reason = f"null_in_not_null: target column {c.target} is NOT NULL" if v is None else None
        if v is not None:
            notes.clear()
            try:
                conv(v)
            except Reject as r:
                reason = r.reason
            for note in [] if reason else notes:
                warnings.add(c.source, note.split(":", 1)[0], key_text, _show(v), note)
        if reason is not None:
            rejects.add(c.source, reason.split(":", 1)[0], key_text, "NULL" if v is None else _show(v), reason)
            failed_rows.add(rowid if rowid is not None else pk)
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


def _text_pending(col: sql.Composable, length: int | None) -> sql.Composable:
    """Text (within ``length`` characters): sure once step 2 found it valid UTF-8 without NUL."""
    cond = _fmt("typeof({c}) = 'text'", col)
    if length is not None:
        cond = sql.SQL("{} AND length({}) <= {}").format(cond, col, sql.Literal(length))
    return cond


def _text(col: sql.Composable, length: int | None) -> tuple[sql.Composable, sql.Composable]:
    """Text targets: integers are sure (reals too when unbounded: their text has no limit); text is pending."""
    numbers = (_fmt("typeof({c}) IN ('integer', 'real')", col) if length is None else
               _fmt("typeof({c}) = 'integer' AND length(CAST({c} AS TEXT)) <= {n}", col, n=length))
    return numbers, _text_pending(col, length)


def _json(col: sql.Composable, jsonb: bool) -> tuple[sql.Composable, sql.Composable]:
    """JSON targets: integers are sure; text SQLite's ``json_valid`` accepts (no ``\\u0000`` for jsonb) is pending.

    SQLite's ``json_valid`` refuses what Python's strict decoder refuses (control characters in
    strings, NaN, trailing commas, leading zeros); step 2 adds UTF-8 and NUL, as ``to_json_text`` does.
    """
    valid = _fmt("typeof({c}) = 'text' AND json_valid({c})", col)
    if jsonb:
        valid = sql.SQL("{} AND instr({}, char(92) || 'u0000') = 0").format(valid, col)
    return _fmt("typeof({c}) = 'integer'", col), valid


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
                "AND '9998' AND substr({c}, 6, 2) BETWEEN '01' AND '12' "
                "AND (substr({c}, 9, 2) BETWEEN '01' AND '28' OR date({c}, '+0 days') = {c})", col, g=_DATE_GLOB)


def _iso_timestamp(col: sql.Composable) -> sql.Composable:
    """ISO date-time naming a real moment, with no, a 3- or a 6-digit fraction and no zone, ``Z`` or ``±hh:mm``.

    Ranges are compared as text (month, day up to 28, hour); only days 29 to 31 ask SQLite's
    ``date(..., '+0 days')``, which moves Feb 30 to Mar 1. The length picks the one tail pattern to try.
    """
    tails = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN substr({}, 20) GLOB {}").format(sql.Literal(19 + len(f) - f.count("[") * 4 + _zlen(z)),
                                                               col, sql.Literal(f + z))
        for f in _FRACTIONS for z in _ZONES)
    return sql.SQL("{} AND CASE length({}) {} ELSE 0 END").format(_fmt(
        "typeof({c}) = 'text' AND {c} GLOB {g} AND substr({c}, 1, 4) BETWEEN '0002' AND '9998' "
        "AND substr({c}, 6, 2) BETWEEN '01' AND '12' AND substr({c}, 12, 2) < '24' "
        "AND (substr({c}, 9, 2) BETWEEN '01' AND '28' OR date(substr({c}, 1, 10), '+0 days') = substr({c}, 1, 10))",
        col, g=_TS_GLOB_STRICT), col, tails)


def _zlen(zone: str) -> int:
    """Characters a zone pattern matches: none, ``Z`` or ``+hh:mm``."""
    return {"": 0, "Z": 1}.get(zone, 6)


def _epoch(col: sql.Composable, unit: str) -> sql.Composable:
    """Epoch numbers well inside every converter's range, in the column's unit."""
    return _fmt("typeof({c}) IN ('integer', 'real') AND abs({c}) < {lim}", col, lim=_EPOCH_SURE.get(unit, 0))
