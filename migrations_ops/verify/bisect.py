"""Find the rows that differ between the source and the target, by bisection on the key.

The data-diff approach: compare count and hash sum of key ranges on both sides,
and only look inside ranges that differ. A matching table costs one pass of
range checksums; one changed row costs that pass plus a few smaller ranges.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from .canonical import unfield
from .checksum import PgSide, SqliteSide, Summary
from .errors import VerifyCancelled
from .schema import split_range


@dataclass(frozen=True, slots=True)
class BisectOptions:
    batch_rows: int = 200_000
    factor: int = 16
    leaf_rows: int = 2_000
    max_located: int = 1_000
    sample_size: int = 10


@dataclass(frozen=True, slots=True)
class TableDiff:
    """What bisection found: totals, and the located rows (samples and counts)."""

    source_rows: int
    target_rows: int
    checksum_match: bool
    located: bool
    complete: bool
    missing_count: int = 0
    extra_count: int = 0
    changed_count: int = 0
    missing: tuple[Any, ...] = ()
    extra: tuple[Any, ...] = ()
    changed: tuple[dict[str, Any], ...] = ()
    changed_columns: dict[str, int] = field(default_factory=dict)
    explained_count: int = 0
    """Source rows missing in the target that the copy rejected (``rejects``): named, not unexplained."""
    explained: tuple[dict[str, Any], ...] = ()
    ranges_compared: int = 0
    rows_compared: int = 0
    reason: str = ""
    unlocated: tuple[dict[str, int], ...] = ()
    settled: int = 0
    """Ranges whose checksums differed but whose rows, compared one by one, are all equal (counted as matching)."""

    @property
    def all_explained(self) -> bool:
        """Every difference is a row the copy rejected: nothing unexplained, nothing left unlocated."""
        return (self.explained_count > 0 and self.complete and not self.unlocated
                and self.missing_count == self.extra_count == self.changed_count == 0)


GROUP_LIMIT = 25
"""A differing range that cannot be split (few key values, many rows each: a composite key) is compared
row by row only up to GROUP_LIMIT x leaf_rows rows; beyond, it is reported as not located."""


class _State:
    def __init__(self, columns: list[str], opts: BisectOptions,
                 explain: Callable[[tuple[str, ...]], str | None] | None = None) -> None:
        self.columns, self.opts, self.explain = columns, opts, explain
        self.missing: list[Any] = []
        self.extra: list[Any] = []
        self.changed: list[dict[str, Any]] = []
        self.explained: list[dict[str, Any]] = []
        self.counts = {"missing": 0, "extra": 0, "changed": 0, "explained": 0}
        self.changed_columns: dict[str, int] = {}
        self.ranges = 0
        self.rows = 0
        self.unlocated: list[dict[str, int]] = []

    @property
    def found(self) -> int:
        return sum(self.counts.values())

    def add(self, what: str, key: Any, columns: list[str] | None = None, reason: str | None = None) -> None:
        self.counts[what] += 1
        samples = {"missing": self.missing, "extra": self.extra, "changed": self.changed,
                   "explained": self.explained}[what]
        if len(samples) < self.opts.sample_size:
            samples.append({"key": key, "reason": reason} if what == "explained" else
                           key if columns is None else {"key": key, "columns": columns})
        for c in columns or ():
            self.changed_columns[c] = self.changed_columns.get(c, 0) + 1


def diff_table(
    pg: PgSide,
    lite: SqliteSide,
    columns: list[str],
    opts: BisectOptions,
    pool: Executor,
    should_cancel: Callable[[], bool],
    on_batch: Callable[[int], None],
    source_rows: int | None = None,
    explain: Callable[[tuple[str, ...]], str | None] | None = None,
) -> TableDiff:
    """Compare a table on both sides and locate differing rows.

    1. Key bounds and source row count (cheap) give the top-level ranges of about
       ``batch_rows`` rows each (at least ``factor`` of them). A table of one batch
       is checksummed whole first, and split only if that differs.
    2. Count and hash sum of every range on both sides: SQLite's queued in ``pool``
       (threads or processes), PostgreSQL's one statement at a time, in key order;
       cancel is checked between statements.
    3. Ranges that differ are split in ``factor`` parts, recursively, down to
       ``leaf_rows`` rows, where rows are fetched from both sides and merged by key.
    4. Stop locating after ``max_located`` differences (the totals stay exact).
    """
    if pg.key is None or lite.key is None:
        s, t = _both(pool, lite.summary, pg.summary, None, None)
        return TableDiff(s.rows, t.rows, s == t, located=False, complete=s == t, ranges_compared=1,
                         reason="no primary key led by an integer column on both sides: whole-table checksum, "
                                "rows not located")
    # the bounds (and the count, unless the caller has it) where the source's work runs
    fut = pool.submit(lite.bounds_and_count) if source_rows is None else pool.submit(lite.bounds)
    t_lo, t_hi = pg.bounds()
    s_lo, s_hi, s_count = fut.result() if source_rows is None else (*fut.result(), source_rows)
    lows = [x for x in (s_lo, t_lo) if x is not None]
    if not lows:
        return TableDiff(0, 0, True, located=True, complete=True)
    lo, hi = min(lows), max(x for x in (s_hi, t_hi) if x is not None) + 1
    est = max(s_count, pg_estimate(pg))
    st = _State(columns, opts, explain)
    totals = [0, 0]
    differing: list[tuple[int, int, int]] = []
    # at least `factor` top ranges, so that a difference costs ~1/factor of the table to re-read
    top = split_range(lo, hi, max(-(-est // opts.batch_rows), opts.factor))
    counting: Callable[[int], None] | None = on_batch
    if est <= opts.batch_rows and len(top) > 1:
        if (whole := whole_first(st, pool, lite, pg, (lo, hi), should_cancel, on_batch)) is not None:
            return whole
        counting = None  # the table's rows were counted in progress once: they are not counted again from zero
    for (a, b), (s, t) in zip(top, _summaries(pool, lite, pg, top, should_cancel, counting), strict=True):
        st.ranges += 1
        totals[0] += s.rows
        totals[1] += t.rows
        if s != t:
            differing.append((a, b, max(s.rows, t.rows)))
    for a, b, n in differing:
        _locate(pg, lite, st, pool, should_cancel, a, b, n)
    return result(st, totals[0], totals[1], bool(differing), len(differing))


def whole_first(st: _State, pool: Executor, lite: SqliteSide, pg: PgSide, bounds: tuple[Any, Any],
                should_cancel: Callable[[], bool], on_batch: Callable[[int], None] | None) -> TableDiff | None:
    """A table of one batch checksummed whole, one statement a side: its result when both sides match, None
    when it differs and must be cut into ranges (64 of the orders file's 80 range statements a side were for
    its four small tables, which match)."""
    [(s, t)] = _summaries(pool, lite, pg, [bounds], should_cancel, on_batch)
    st.ranges += 1
    return result(st, s.rows, t.rows, False, 0) if s == t else None


def result(st: _State, source_rows: int, target_rows: int, differed: bool, differing: int, reason: str = ""
           ) -> TableDiff:
    """The ``TableDiff`` of a finished search (shared by every way of locating rows)."""
    # The row-by-row comparison of canonical values is the judge: checksums that differ over rows that all
    # compare equal (a source value the per-type hash could only poison, see pghash) are no difference.
    settled = differing if differed and st.found == 0 and not st.unlocated else 0
    match = not differed or settled > 0
    return TableDiff(
        source_rows, target_rows, match, located=True,
        complete=st.found < st.opts.max_located and not st.unlocated, unlocated=tuple(st.unlocated),
        settled=settled, reason=reason,
        missing_count=st.counts["missing"], extra_count=st.counts["extra"], changed_count=st.counts["changed"],
        missing=tuple(st.missing), extra=tuple(st.extra), changed=tuple(st.changed),
        changed_columns=st.changed_columns, ranges_compared=st.ranges, rows_compared=st.rows,
        explained_count=st.counts["explained"], explained=tuple(st.explained),
    )


def pg_estimate(pg: PgSide) -> int:
    return max(0, pg.estimate)


def _summaries(pool: Executor, lite: SqliteSide, pg: PgSide, ranges: list[tuple[int, int]],
               should_cancel: Callable[[], bool], on_batch: Callable[[int], None] | None = None,
               ) -> list[tuple[Summary, Summary]]:
    """Both sides' summaries of several ranges: the source's all queued at once (they run in the
    pool's workers), the target's one statement at a time here, checking cancel in between."""
    futures = [pool.submit(lite.summary, a, b) for a, b in ranges]
    sides = [pg, *pg.partners]
    stop = threading.Event()
    theirs = {}  # ranges the partner sessions take: every len(sides)-th, in their own threads
    with ThreadPoolExecutor(max_workers=max(1, len(sides) - 1), thread_name_prefix="mop-verify-pg") as helpers:
        try:
            for k, side in enumerate(sides[1:], 1):
                mine = ranges[k::len(sides)]
                theirs[k] = helpers.submit(_side_summaries, side, mine, stop)
            done, out = 0, {}
            for a, b in ranges[0::len(sides)]:
                if should_cancel():
                    raise VerifyCancelled(pg.table)
                t = pg.summary(a, b)
                out[a, b] = t
                done += t.rows
                if on_batch:
                    on_batch(done)
            for k, fut in theirs.items():
                out.update(zip(ranges[k::len(sides)], _wait(fut, pg.table, should_cancel), strict=True))
            if on_batch and theirs:  # the partners' rows too: the last line gives the table's whole count
                on_batch(sum(t.rows for t in out.values()))
            return [(_wait(f, pg.table, should_cancel), out[a, b]) for f, (a, b) in zip(futures, ranges, strict=True)]
        finally:
            stop.set()
            for f in futures:
                f.cancel()


def _side_summaries(side: PgSide, ranges: list[tuple[int, int]], stop: threading.Event) -> list[Summary]:
    """One partner session's share of the range checksums, one statement at a time; ``stop`` ends it early."""
    out = []
    for a, b in ranges:
        if stop.is_set():
            raise VerifyCancelled(side.table)
        out.append(side.summary(a, b))
    return out


def _wait(fut: Future[Summary], table: str, should_cancel: Callable[[], bool]) -> Summary:
    """A source result, checking cancel every half second while the source works."""
    while True:
        try:
            return fut.result(timeout=0.5)
        except FutureTimeout:
            if should_cancel():
                raise VerifyCancelled(table) from None


def _both(pool: Executor, left: Callable[..., Summary], right: Callable[..., Summary], *args: Any) -> Any:
    fut = pool.submit(left, *args)
    r = right(*args)
    return fut.result(), r


def _locate(pg: PgSide, lite: SqliteSide, st: _State, pool: Executor, should_cancel: Callable[[], bool],
            lo: int, hi: int, n: int) -> None:
    """Descend into ``[lo, hi)``, which differs and holds at most ``n`` rows on either side."""
    if st.found >= st.opts.max_located:
        return
    if should_cancel():
        raise VerifyCancelled(pg.table)
    if n <= st.opts.leaf_rows or hi - lo <= st.opts.leaf_rows:
        if n > GROUP_LIMIT * st.opts.leaf_rows:
            st.unlocated.append({"from": lo, "to": hi, "rows": n})  # one key value holding too many rows
            return
        _compare_rows(pg, lite, st, pool, lo, hi)
        return
    parts = split_range(lo, hi, st.opts.factor)
    for (a, b), (s, t) in zip(parts, _summaries(pool, lite, pg, parts, should_cancel), strict=True):
        st.ranges += 1
        if s != t:
            _locate(pg, lite, st, pool, should_cancel, a, b, max(s.rows, t.rows))


def _compare_rows(pg: PgSide, lite: SqliteSide, st: _State, pool: Executor, lo: int, hi: int) -> None:
    """Match both sides' rows of a small range by their key's canonical text (so SQLite's ``'5'`` and
    PostgreSQL's ``5`` are one key, and collations never matter): missing, extra, changed columns."""
    src_rows, tgt_rows = _both(pool, lite.rows, pg.rows, lo, hi)
    st.rows += len(src_rows) + len(tgt_rows)
    nk = len(pg.key_columns)
    null_keyed = [r for r in src_rows if "NULL" in r[:nk]]
    if null_keyed:  # a NULL in a source key (SQLite allows it outside INTEGER PRIMARY KEY): never in the target
        _null_keys(lite, st, len(null_keyed), [sample_key(r[:nk]) for r in null_keyed])
    src = {r[:nk]: r[nk:] for r in src_rows if "NULL" not in r[:nk]}
    tgt = {r[:nk]: r[nk:] for r in tgt_rows}
    for k in sorted(src.keys() | tgt.keys(), key=_key_order):
        sample = sample_key(k)
        if k not in tgt:
            reason = st.explain(k) if st.explain is not None else None
            st.add("explained" if reason else "missing", sample, reason=reason)
        elif k not in src:
            st.add("extra", sample)
        else:
            cols = [c for c, a, b in zip(st.columns, src[k], tgt[k], strict=True) if a != b]
            if cols:
                st.add("changed", sample, cols)


def _null_keys(lite: SqliteSide, st: _State, n: int, shown: list[Any]) -> None:
    """Name source rows whose key has a NULL by ``rowid:N``, as the copy keys its rejects of them.

    They all fall in the first key range (``LiteKeyed._where``), so the leaf
    that holds one holds them all: the table's NULL-keyed rowids are exactly
    these rows, and each is explained by the copy's reject of that rowid.
    """
    rowids = lite.null_key_rowids() if hasattr(lite, "null_key_rowids") else []
    if len(rowids) != n:  # cannot tell which is which: keep them missing, as seen
        for k in shown:
            st.add("missing", k)
        return
    for rowid in rowids:
        key = f"rowid:{rowid}"
        reason = st.explain((key,)) if st.explain is not None else None
        st.add("explained" if reason else "missing", key, reason=reason)


def _decode(f: str) -> Any:
    text = unfield(f)
    return int(text) if text is not None and text.lstrip("-").isdigit() else text


def _key_order(k: tuple[str, ...]) -> tuple[tuple[int, Any], ...]:
    vals = [_decode(f) for f in k]
    return tuple((0, v) if isinstance(v, int) else (1, "") if v is None else (2, v) for v in vals)


def sample_key(k: tuple[str, ...]) -> Any:
    """A key for the report: the value for one column (an int when it reads as one), else a list.

    >>> sample_key(("'777'",)), sample_key(("'1'", "'a'"))
    (777, [1, 'a'])
    """
    vals = [_decode(f) for f in k]
    return vals[0] if len(vals) == 1 else vals


def describe(values: tuple[Any, ...], columns: list[str]) -> dict[str, str | None]:
    """A fetched row's canonical values by column (for debugging and tests)."""
    return {c: unfield(v) for c, v in zip(columns, values, strict=True)}
