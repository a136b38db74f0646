"""Locate differing rows on any key: text, uuid and composite keys by key boundaries, keyless tables by row hash.

Integer keys keep ``bisect.diff_table`` (ranges by integer arithmetic). Here a
range is ``[lo, hi)`` between two *key values* (tuples, None for open), and both
sides order keys by one byte order so that a range holds the same key values
on both: PostgreSQL compares text ``COLLATE "C"`` and SQLite ``COLLATE BINARY``
(both are the byte order of UTF-8); a uuid is compared as its 32 lowercase hex
digits (PostgreSQL's uuid order is the order of that text; SQLite's value, text
in any case, with or without hyphens or braces, or 16 bytes, is brought to that
form first); integers as numbers.

A table without a key (or with a key of another type) is compared as a
multiset of full-row hashes: what is left over on either side is the
difference, counted exactly, with sample rows.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

import psycopg
from psycopg import sql

from .bisect import (
    GROUP_LIMIT,
    BisectOptions,
    TableDiff,
    _both,
    _compare_rows,
    _State,
    _summaries,
    result,
    whole_first,
)
from .canonical import ColumnType, pg_row_hash, row_hash_bytes, sqlite_sql, unfield
from .checksum import PgSide, SqliteSide, Summary
from .errors import VerifyCancelled

Bound = tuple[Any, ...] | None
ORDERED_TYPES = frozenset({"int2", "int4", "int8", "text", "varchar", "uuid"})
"""Key column types both sides can order the same way (citext, bpchar, name compare by other rules)."""


def orderable(typnames: Sequence[str]) -> bool:
    """Whether a key of these PostgreSQL types can be walked by key boundaries.

    >>> orderable(["text", "int4"]), orderable(["date"]), orderable([])
    (True, False, False)
    """
    return bool(typnames) and all(t in ORDERED_TYPES for t in typnames)


def _bound_sql(order: list[sql.Composable], slots: list[sql.Composable], lo: Bound, hi: Bound
               ) -> tuple[sql.Composable, list[Any]]:
    """``lo <= (key) < hi`` as a row comparison, and its parameters (either bound open when None)."""
    conds: list[sql.Composable] = []
    params: list[Any] = []
    for bound, op in ((lo, ">="), (hi, "<")):
        if bound is not None:
            conds.append(sql.SQL("({}) {} ({})").format(sql.SQL(", ").join(order), sql.SQL(op),
                                                         sql.SQL(", ").join(slots)))
            params += list(bound)
    return (sql.SQL(" AND ").join(conds) if conds else sql.SQL("true")), params


_BOUNDARIES = ("SELECT {names} FROM (SELECT {raw}, row_number() OVER (ORDER BY {order}) AS mop_rn FROM {t} WHERE {w} "
               "AND {known}) AS s WHERE mop_rn > 1 AND (mop_rn - 1) {mod} {step} = 0 ORDER BY mop_rn")


def _boundary_stmt(raw: list[sql.Composable], order: list[sql.Composable], rel: sql.Composable, where: sql.Composable,
                   step: sql.Composable, mod: str) -> sql.Composable:
    """Every ``step``-th key value of a range (not the first): the starts of the parts to split it into."""
    names = [sql.Identifier(f"mop_k{i}") for i in range(len(raw))]
    known = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(e) for e in raw)  # a NULL bound matches nothing
    aliased = sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, n) for e, n in zip(raw, names, strict=True))
    return sql.SQL(_BOUNDARIES).format(names=sql.SQL(", ").join(names), raw=aliased, order=sql.SQL(", ").join(order),
                                       t=rel, w=where, known=known, step=step, mod=sql.SQL(mod))


class PgKeyed(PgSide):
    """The target side of a table walked by key boundaries (the table's checksum method, key in byte order)."""

    def __init__(self, conn: psycopg.Connection, schema: str, table: str, columns: Sequence[tuple[str, ColumnType]],
                 timeout_ms: int, lock_timeout_ms: int, key_columns: Sequence[tuple[str, str]], native: bool,
                 byte_order: frozenset[str] = frozenset(), catalog: Mapping[str, tuple[str, bool]] | None = None
                 ) -> None:
        kinds = [(c, ColumnType.from_pg(t)) for c, t in key_columns]
        super().__init__(conn, schema, table, columns, None, timeout_ms, lock_timeout_ms, key_columns=kinds,
                         native=native, catalog=catalog)
        # a text column whose collation is already byte order (C, C.UTF-8) is compared as it is: its index serves
        self.order = [sql.SQL('{} COLLATE "C"').format(sql.Identifier(c)) if ct.kind == "text" and c not in byte_order
                      else sql.Identifier(c) for c, ct in kinds]
        self.slots = [sql.SQL("%s::uuid") if ct.kind == "uuid" else sql.SQL("%s") for _, ct in kinds]
        self.raw = [sql.Identifier(c) for c, _ in kinds]

    def _where(self, lo: Any, hi: Any) -> tuple[sql.Composable, list[Any]]:
        return _bound_sql(self.order, self.slots, lo, hi)

    def boundaries(self, lo: Bound, hi: Bound, step: int) -> list[tuple[Any, ...]]:
        """Key values (as plain text or int) that cut ``[lo, hi)`` into parts of ``step`` target rows."""
        where, params = self._where(lo, hi)
        stmt = _boundary_stmt(self.raw, self.order, self.rel, where, sql.SQL("%s"), "%%")  # psycopg: % doubled
        rows = self._run(stmt, [*params, step], f"key boundaries {lo}..{hi}")
        return [tuple(v.hex if isinstance(v, uuid.UUID) else v for v in r) for r in rows]


_UUID_HEX = sql.SQL("CASE WHEN typeof({c}) = 'blob' THEN lower(hex({c})) ELSE lower(replace(replace(replace(replace("
                    "{c}, 'urn:uuid:', ''), '{{', ''), '}}', ''), '-', '')) END")
"""A uuid source value as 32 lowercase hex digits: the order and the boundary form both sides share."""


class LiteKeyed(SqliteSide):
    """The source side of a table walked by key boundaries; same signature as ``SqliteSide`` (it pickles)."""

    def __init__(self, conn: Any, table: str, columns: Sequence[tuple[str, ColumnType]], key: str | None = None,
                 path: str | None = None, key_columns: Sequence[tuple[str, ColumnType]] = (),
                 native: bool | None = False, lazy_units: bool = False) -> None:
        super().__init__(conn, table, columns, None, path, key_columns, native, lazy_units)
        self.order: list[sql.Composable] = []
        for c, ct in self.key_columns:
            ident = sql.Identifier(c)
            self.order.append(_UUID_HEX.format(c=ident) if ct.kind == "uuid" else
                              sql.SQL("{} COLLATE BINARY").format(ident) if ct.kind == "text" else ident)
        self.raw = [_UUID_HEX.format(c=sql.Identifier(c)) if ct.kind == "uuid" else sql.Identifier(c)
                    for c, ct in self.key_columns]

    def _where(self, lo: Any, hi: Any) -> tuple[sql.Composable, list[Any]]:
        """As the target's, but the first range also holds the rows with a NULL in the key (SQLite allows them
        in a primary key that is not an INTEGER one): no row falls between the ranges."""
        where, params = _bound_sql(self.order, [sql.SQL("?")] * len(self.order), lo, hi)
        if not params:
            return sql.SQL("1"), params
        if lo is None:
            nulls = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(e) for e in self.raw)
            where = sql.SQL("({} OR {})").format(where, nulls)
        return where, params

    def null_key_rowids(self) -> list[int]:
        """Rowids of the source rows with a NULL in their key, in rowid order (they name those rows)."""
        nulls = sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(c)) for c, _ in self.key_columns)
        stmt = sql.SQL("SELECT rowid FROM {} WHERE {} ORDER BY rowid").format(self.rel, nulls)
        return [int(r[0]) for r in self.conn.execute(sqlite_sql(stmt)).fetchall()]

    def boundaries(self, lo: Bound, hi: Bound, step: int) -> list[tuple[Any, ...]]:
        """As ``PgKeyed.boundaries``, over the source's rows.

        Walked along the key's index when it orders the rows (each cut ``OFFSET step - 1`` past the one
        before: 600 k rows of order items cut in 16 in 0.02 s), else numbered by a window function (0.28 s
        there: SQLite numbers every row). With a key value repeated in the source, a cut is the ``step``-th
        row past the last row of the cut before, so the walk always moves on.
        """
        where, params = self._where(lo, hi)
        first, then = self._walk_stmts(where)
        if not self._walks_index(then, [*params, *([None] * len(self.raw)), step]):
            stmt = _boundary_stmt(self.raw, self.order, self.rel, where, sql.SQL("?"), "%")
            return [tuple(r) for r in self.conn.execute(sqlite_sql(stmt), [*params, step]).fetchall()]
        cuts: list[tuple[Any, ...]] = []
        row = self.conn.execute(first, [*params, step]).fetchone()
        while row is not None:
            cuts.append(tuple(row))
            row = self.conn.execute(then, [*params, *row, step - 1]).fetchone()
        return cuts

    def _walk_stmts(self, where: sql.Composable) -> tuple[str, str]:
        """The first cut of a range, and the next one after a cut (its key values as parameters)."""
        known = sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(e) for e in self.raw)
        order = sql.SQL(", ").join(self.order)
        base = sql.SQL("SELECT {raw} FROM {t} WHERE ({w}) AND {known}").format(
            raw=sql.SQL(", ").join(self.raw), t=self.rel, w=where, known=known)
        tail = sql.SQL(" ORDER BY {} LIMIT 1 OFFSET ?").format(order)
        after = sql.SQL(" AND ({}) > ({})").format(order, sql.SQL(", ").join([sql.SQL("?")] * len(self.raw)))
        return sqlite_sql(base + tail), sqlite_sql(base + after + tail)

    def _walks_index(self, stmt: str, params: list[Any]) -> bool:
        """Whether SQLite reads ``stmt``'s rows in key order from an index (no sort of the whole range)."""
        plan = self.conn.execute("EXPLAIN QUERY PLAN " + stmt, params).fetchall()
        return not any("TEMP B-TREE" in str(r[-1]) for r in plan)


Explain = Callable[[tuple[str, ...]], "str | None"]


def diff_keyed(pg: PgKeyed, lite: LiteKeyed, columns: list[str], opts: BisectOptions, pool: Executor,
               should_cancel: Callable[[], bool], on_batch: Callable[[int], None], source_rows: int,
               explain: Explain | None = None) -> TableDiff:
    """Compare a table on both sides and locate its differing rows by key boundaries.

    0. A table of one batch (``batch_rows``) is checksummed whole first; the rest only if that differs.
    1. The side with more rows (source count, target estimate) gives every
       ``n / parts``-th key value (one ordered index scan): the boundaries of the
       top-level ranges, about ``batch_rows`` rows each and at least ``factor`` of them.
    2. Count and hash sum of every range on both sides (``bisect._summaries``: the
       source's queued in ``pool``, the target's on its sessions), as for an integer key.
    3. A range that differs is split the same way in ``factor`` parts, recursively.
    4. At ``leaf_rows`` rows or fewer, fetch both sides' rows and match them by key.
    """
    st = _State(columns, opts, explain)
    est = max(source_rows, pg.estimate)
    counting: Callable[[int], None] | None = on_batch
    if est <= opts.batch_rows:
        if (whole := whole_first(st, pool, lite, pg, (None, None), should_cancel, on_batch)) is not None:
            return whole
        counting = None  # the table's rows were counted in progress once: they are not counted again from zero
    side: PgKeyed | LiteKeyed = lite if source_rows >= pg.estimate else pg
    cuts = side.boundaries(None, None, max(1, -(-est // max(-(-est // opts.batch_rows), opts.factor))))
    edges = [None, *cuts, None]
    top = list(zip(edges, edges[1:], strict=False))
    totals, differing = [0, 0], []
    for (a, b), (s, t) in zip(top, _summaries(pool, lite, pg, top, should_cancel, counting), strict=True):  # type: ignore[arg-type]
        st.ranges += 1
        totals[0] += s.rows
        totals[1] += t.rows
        if s != t:
            differing.append((a, b, s.rows, t.rows))
    for a, b, s_rows, t_rows in differing:
        _descend(pg, lite, st, pool, should_cancel, a, b, s_rows, t_rows)
    return result(st, totals[0], totals[1], bool(differing), len(differing))


def _descend(pg: PgKeyed, lite: LiteKeyed, st: _State, pool: Executor, should_cancel: Callable[[], bool],
             lo: Bound, hi: Bound, s_rows: int, t_rows: int) -> None:
    """Descend into ``[lo, hi)``, which differs, holding ``s_rows`` source and ``t_rows`` target rows."""
    if st.found >= st.opts.max_located:
        return
    if should_cancel():
        raise VerifyCancelled(pg.table)
    n = max(s_rows, t_rows)
    if n <= st.opts.leaf_rows:
        _compare_rows(pg, lite, st, pool, lo, hi)  # type: ignore[arg-type]
        return
    side: PgKeyed | LiteKeyed = lite if s_rows >= t_rows else pg
    cuts = [b for b in dict.fromkeys(side.boundaries(lo, hi, -(-n // st.opts.factor))) if b != lo]
    if not cuts:  # one key value holds every row (duplicate keys in the source): compare if small enough
        if n > GROUP_LIMIT * st.opts.leaf_rows:
            st.unlocated.append({"from": lo, "to": hi, "rows": n})  # type: ignore[dict-item]
        else:
            _compare_rows(pg, lite, st, pool, lo, hi)  # type: ignore[arg-type]
        return
    edges = [lo, *cuts, hi]
    parts = list(zip(edges, edges[1:], strict=False))
    for (a, b), (s, t) in zip(parts, _summaries(pool, lite, pg, parts, should_cancel), strict=True):  # type: ignore[arg-type]
        st.ranges += 1
        if s != t:
            _descend(pg, lite, st, pool, should_cancel, a, b, s.rows, t.rows)


def diff_multiset(pg: PgSide, lite: SqliteSide, columns: list[str], opts: BisectOptions,
                  whole: tuple[Summary, Summary], explain: Explain | None = None) -> TableDiff:
    """Compare a keyless table as a multiset of full-row hashes (canonical text, md5, as ``pg_row_hash``).

    1. The target groups its rows by hash (``count(*)`` per hash) in one statement.
    2. The source's rows are hashed one by one, remembering each hash's rowids.
    3. Per hash, surplus source rows are "only in source" (a reject of ``rowid:N``
       explains one), surplus target rows "only in target"; the counts are exact,
       the samples (whole rows) at most ``sample_size`` per side.
    Memory: a rowid per source row and an entry per distinct row (about 100 bytes a row).
    """
    s, t = whole
    target = dict(pg._run(sql.SQL("SELECT {h}, count(*) FROM {t} GROUP BY 1").format(
        h=pg_row_hash(pg.row_text), t=pg.rel), [], "row hashes"))
    source = lite._retrying(_source_hashes, lite)
    st = _State(columns, opts, explain)
    only_source = [i for h, ids in source.items() for i in ids[:max(0, len(ids) - target.get(h, 0))]]
    only_target = {h: n - len(source.get(h, ())) for h, n in target.items() if n > len(source.get(h, ()))}
    sample_ids = []
    keys = _source_keys(lite, sorted(only_source)) if explain and lite.key_fields else {}
    for rowid in sorted(only_source):
        key: Any = f"rowid:{rowid}"  # an explained row is named as the copy named its reject
        reason = explain((key,)) if explain else None
        if reason is None and rowid in keys:  # a key of a type ranges cannot order (e.g. a date): the copy's key
            reason = explain(keys[rowid])  # type: ignore[misc]
            key = list(keys[rowid])
        st.add("explained" if reason else "missing", key if reason else rowid, reason=reason)
        if not reason and len(sample_ids) < opts.sample_size:
            sample_ids.append(rowid)
    for _ in range(sum(only_target.values())):
        st.add("extra", None)
    st.missing = _source_rows(lite, sample_ids, columns)
    st.extra = _target_rows(pg, list(only_target), opts.sample_size, columns)
    st.ranges, st.rows = 1, s.rows + t.rows
    why = f"{st.counts['extra']:+d} row(s) only in target, -{len(only_source)} row(s) only in source"
    diff = result(st, s.rows, t.rows, True, 1, reason=f"{why} (no usable key: rows matched by full-row hash)")
    return dataclasses.replace(diff, complete=True)  # the counts are exact; only the samples are limited


def _source_hashes(lite: SqliteSide) -> dict[int, list[int]]:
    """Every source row's hash (of its canonical text, as ``pg_row_hash``) -> the rowids holding it; streamed."""
    stmt = sql.SQL("SELECT rowid, CAST({h} AS BLOB) FROM {t}").format(h=lite.row_text, t=lite.rel)
    source: dict[int, list[int]] = {}
    for rowid, blob in lite.conn.execute(sqlite_sql(stmt)):
        source.setdefault(row_hash_bytes(blob), []).append(rowid)
    return source


def _source_keys(lite: SqliteSide, rowids: list[int], chunk: int = 500) -> dict[int, tuple[str, ...]]:
    """The key fields of some source rows by rowid (a keyed table compared as a multiset: to match rejects)."""
    out: dict[int, tuple[str, ...]] = {}
    for i in range(0, len(rowids), chunk):
        part = rowids[i:i + chunk]

        def fetch(part: list[int] = part) -> list[Any]:
            stmt = sql.SQL("SELECT rowid, {k} FROM {t} WHERE rowid IN ({ids})").format(
                k=sql.SQL(", ").join(lite.key_fields), t=lite.rel, ids=sql.SQL(", ").join([sql.SQL("?")] * len(part)))
            return lite.conn.execute(sqlite_sql(stmt), part).fetchall()

        out.update({r[0]: tuple(r[1:]) for r in lite._retrying(fetch)})
    return out


def _source_rows(lite: SqliteSide, rowids: list[int], names: list[str]) -> list[Any]:
    """Sample source rows by rowid, as ``{"rowid": N, "row": {column: canonical text}}``."""
    if not rowids:
        return []

    def fetch() -> list[Any]:
        stmt = sql.SQL("SELECT rowid, {f} FROM {t} WHERE rowid IN ({ids}) ORDER BY rowid").format(
            f=sql.SQL(", ").join(lite.fields), t=lite.rel, ids=sql.SQL(", ").join([sql.SQL("?")] * len(rowids)))
        return lite.conn.execute(sqlite_sql(stmt), rowids).fetchall()

    rows = lite._retrying(fetch)
    return [{"rowid": r[0], "row": {c: unfield(v) for c, v in zip(names, r[1:], strict=True)}} for r in rows]


def _target_rows(pg: PgSide, hashes: list[int], limit: int, names: list[str]) -> list[Any]:
    """Sample target rows whose hash is one of ``hashes``, as ``{"row": {column: canonical text}}``."""
    if not hashes:
        return []
    stmt = sql.SQL("SELECT {f} FROM {t} WHERE {h} = ANY(%s) LIMIT %s").format(
        f=sql.SQL(", ").join(pg.fields), t=pg.rel, h=pg_row_hash(pg.row_text))
    rows = pg._run(stmt, [hashes, limit], "sample rows")
    return [{"row": {c: unfield(v) for c, v in zip(names, r, strict=True)}} for r in rows]


def whole_table(pool: Executor, lite: SqliteSide, pg: PgSide) -> tuple[Summary, Summary]:
    """Both sides' whole-table count and checksum (native hashes where both can), in one statement each."""
    return _both(pool, lite.summary, pg.summary, None, None)
