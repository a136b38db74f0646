"""Copying one key range: read keyset batches, convert, COPY, checkpoint, all in one transaction.

The rows of a range go out in one streaming binary COPY, so that the server
inserts while the client reads and converts the next batch (a writer thread
sends the data). Only if the server refuses a row that passed our checks is
the range rolled back to its start and redone batch by batch, each batch in a
savepoint, bisecting down to the refused rows.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg.adapt import PyFormat, Transformer
from psycopg.copy import QueuedLibpqWriter

from migrations_ops.errors import Cancelled
from migrations_ops.progress import CancelFn, Progress, ProgressFn, never_cancel, no_progress
from migrations_ops.target import TargetConn, connect

from . import compiled
from . import rejects as rejects_mod
from .errors import CopyAbandoned, TooManyRejects
from .fastpath import fast_check
from .options import CopyOptions, RangeSpec
from .ranges import application_name
from .source import damage_as_unreadable, open_source, read_batches
from .sqlfiles import q, t
from .store import take_target_lock
from .typemap import Reject, converter, hex_of

_SERVER_DATA_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)
RejectRecord = tuple[str, "str | None", str, str]


class _OverLimit(Exception):
    """The run's ``max_rejects`` was passed inside this range (turned into ``TooManyRejects``)."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.total = total


@dataclass(frozen=True, slots=True)
class RangeResult:
    """What one range did; ``skipped`` when it had already been committed earlier."""

    copy_id: str
    table: str
    lo: int
    hi: int
    rows_read: int
    rows_copied: int
    rows_rejected: int
    bytes: int
    seconds: float
    skipped: bool = False


QUEUED_CHUNKS = 16
"""COPY chunks (psycopg splits writes into 128 kB) the reader may be ahead of the server: 2 MB. psycopg's
own bound is 1,024 chunks, 128 MB a range when SQLite and the codec outrun the server's inserts."""


class _CountingWriter(QueuedLibpqWriter):
    """Queue COPY data to a writer thread (conversion and network overlap) and count the bytes.

    The queue holds at most QUEUED_CHUNKS: once the server is the slower side, reading waits for it
    instead of piling converted rows up in the worker's memory.
    """

    nbytes = 0

    def __init__(self, cursor: Any) -> None:
        super().__init__(cursor)
        self._queue: Queue[Any] = Queue(maxsize=QUEUED_CHUNKS)

    def write(self, data: Any) -> None:
        self.nbytes += len(data)
        super().write(data)


def _json_wire(col: Sequence[Any], jsonb: bool) -> list[bytes | None]:
    """Validated JSON text as the bytes the server's json/jsonb binary input reads.

    >>> _json_wire(['{"a": 1}', None], True)
    [b'\\x01{"a": 1}', None]
    >>> _json_wire(['1', float("inf")], False)
    [b'1', None]
    """
    head = b"\x01" if jsonb else b""
    if None not in col:
        try:
            return list(map(head.__add__, map(str.encode, col)))
        except TypeError:
            pass
    # a value that is not text belongs to a row already rejected (a REAL inf or a non-UTF-8 BLOB in a JSON
    # column: JSON declares NUMERIC affinity); it is never sent, and must not crash the batch either
    return [head + v.encode() if type(v) is str else None for v in col]


def _use_c_bytes_dumper(conn: psycopg.Connection) -> None:
    """Make the bytea binary dumper chosen by ``set_types`` the one for ``bytes`` (C), not DB-API ``Binary``'s.

    psycopg picks the last dumper registered for the bytea oid, which is the
    pure-Python one of ``psycopg.dbapi20``; json/jsonb values go out as bytes.
    """
    conn.adapters.register_dumper(bytes, conn.adapters.get_dumper(bytes, PyFormat.BINARY))


def copy_range(
    sqlite_path: str | Path,
    target: TargetConn,
    spec: RangeSpec,
    options: CopyOptions | None = None,
    *,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    lock: bool = True,
) -> RangeResult:
    """Copy one key range of one table, with its checkpoint and rejects, in one target transaction.

    Steps: 1 take the target lock shared (ranges of one copy run side by side;
    the migration runner is kept out); 2 claim the range by inserting its
    checkpoint row: a conflict means it was committed before (or by a
    redelivered twin, whose commit we waited for), so return ``skipped``;
    refuse if the copy was abandoned; 3 stream every batch of the range into
    one COPY: convert each row (a failing value rejects its row), report
    progress, honour ``should_cancel`` and ``max_rejects``; 4 if the server
    refuses a row anyway, roll back to the range's start and redo it batch by
    batch, bisecting to the refused rows; 5 store the rejects, write the counts
    into the checkpoint row and commit. A crash anywhere before the commit
    leaves no trace, so the range is simply redone (and, with the target's keys
    deferred, never duplicated).

    :param lock: False when the caller already holds the target lock exclusively.
    """
    opts = options or CopyOptions()
    started = time.monotonic()
    src = open_source(sqlite_path)
    try:
        with connect(target, application_name(spec.copy_id), autocommit=False) as conn:
            if lock:
                take_target_lock(conn, shared=True, xact=True)
            done = _claim(conn, spec)
            if done is not None:
                conn.rollback()
                return done
            rejects_mod.forget_range(conn, spec.copy_id, spec.table, spec.lo)
            job = _RangeJob(conn, src, spec, opts, progress, should_cancel, sqlite_path)
            try:
                with damage_as_unreadable(sqlite_path):
                    job.run()
            except _OverLimit as over:
                conn.rollback()  # the range's rows go; its rejects are kept for review, under the range
                with conn.transaction():
                    rejects_mod.store(conn, spec.copy_id, spec.table, spec.lo, job.kept)
                raise TooManyRejects(spec.copy_id, over.total, opts.max_rejects or 0) from None
            seconds = time.monotonic() - started
            conn.execute(q("copy_checkpoint_finish"), {
                "copy_id": spec.copy_id, "table_name": spec.table, "range_lo": spec.lo, "rows_read": job.read,
                "rows_copied": job.copied, "rows_rejected": job.rejected, "bytes": job.nbytes, "seconds": seconds})
            conn.commit()
    finally:
        src.close()
    return RangeResult(spec.copy_id, spec.table, spec.lo, spec.hi, job.read, job.copied, job.rejected,
                       job.nbytes, seconds)


def _claim(conn: psycopg.Connection, spec: RangeSpec) -> RangeResult | None:
    """Insert the range's checkpoint row; if it exists already, return the stored result."""
    key = {"copy_id": spec.copy_id, "table_name": spec.table, "range_lo": spec.lo}
    status = conn.execute(q("copy_run_status"), key).fetchone()
    if status is not None and status[0] == "abandoned":
        conn.rollback()
        raise CopyAbandoned(spec.copy_id)
    if conn.execute(q("copy_checkpoint_claim"), {**key, "range_hi": spec.hi}).fetchone() is not None:
        return None
    r = conn.execute(q("copy_checkpoint_get"), key).fetchone()
    assert r is not None
    return RangeResult(spec.copy_id, spec.table, spec.lo, spec.hi, r[0], r[1], r[2], r[3], r[4], skipped=True)


class _RangeJob:
    """State of one range being copied (counts, converters, the COPY statement)."""

    def __init__(self, conn: psycopg.Connection, src: sqlite3.Connection, spec: RangeSpec, opts: CopyOptions,
                 progress: ProgressFn, should_cancel: CancelFn, sqlite_path: str | Path = "") -> None:
        self.conn, self.src, self.spec, self.opts = conn, src, spec, opts
        self.sqlite_path = sqlite_path
        self.codec = compiled.range_specs(spec) if sqlite_path else None
        self.progress, self.should_cancel = progress, should_cancel
        self.read = self.copied = self.rejected = self.nbytes = 0
        self.notes: list[str] = []
        self.kept: list[RejectRecord] = []
        self.convs = [converter(c.type, epoch_unit=c.epoch_unit, text_policy=opts.text_policy, notes=self.notes,
                                accept_float4_rounding=opts.accept_float4_rounding) for c in spec.columns]
        self.fast = [fast_check(c.type) for c in spec.columns]
        self.not_null = [i for i, c in enumerate(spec.columns) if c.type.not_null]
        sources = [c.source for c in spec.columns]
        self.pk_idx = [sources.index(p) for p in spec.pk_columns if p in sources]
        self.binary = spec.binary
        # json/jsonb go out as their wire bytes (jsonb: version 1 + UTF-8 text) through the C bytea dumper:
        # binary COPY carries no type per field, and a per-value Python dumper was a third of the send cost.
        self.json_cols = {i: c.type.name == "jsonb" for i, c in enumerate(spec.columns) if c.type.name in ("json", "jsonb")}
        self.types = ["bytea" if i in self.json_cols and self.binary else c.type.name for i, c in enumerate(spec.columns)]
        self.stmt = t("copy_t_copy_in", table=sql.Identifier(spec.schema, spec.target_table),
                      columns=sql.SQL(", ").join(sql.Identifier(c.target) for c in spec.columns),
                      format=sql.SQL("FORMAT BINARY" if self.binary else "FORMAT TEXT"))
        if self.binary:
            _use_c_bytes_dumper(conn)
        self.prior_rejects = rejects_mod.count_rejected_rows(conn, spec.copy_id) if opts.max_rejects is not None else 0
        self.t0 = time.monotonic()

    def run(self) -> None:
        """The whole range in one COPY; on a row the server refuses, the range again batch by batch."""
        try:
            with self.conn.transaction():
                if self.codec is not None:
                    self._stream_compiled(self.codec)
                else:
                    self._stream()
        except _SERVER_DATA_ERRORS:
            self.read = self.copied = self.rejected = self.nbytes = 0
            self.kept = []
            self._batched()

    def _batches(self) -> Any:
        cols = [c.source for c in self.spec.columns]
        return read_batches(self.src, self.spec.table, self.spec.key, cols, self.spec.lo, self.spec.hi,
                            self.opts.batch_rows)

    def _stream(self) -> None:
        with self.conn.cursor() as cur:
            writer = _CountingWriter(cur)
            with cur.copy(self.stmt, writer=writer) as cp:
                if self.binary:
                    cp.set_types(self.types)
                write_row = cp.write_row
                for batch in self._batches():
                    if self.should_cancel():
                        raise Cancelled()
                    good, _, bad = self._convert(batch)
                    for r in good:
                        write_row(r)
                    self.copied += len(good)
                    self.kept += bad
                    self._batch_done(len(batch))
            self.nbytes = writer.nbytes
        if self.kept:
            rejects_mod.store(self.conn, self.spec.copy_id, self.spec.table, self.spec.lo, self.kept)

    def _stream_compiled(self, codec: list[tuple[int, int, bool]]) -> None:
        """``_stream`` with the C row codec: clean rows go out as the codec wrote them, the rest via ``_convert``.

        The COPY is written in block mode (header, tuples, trailer all ours), so
        the codec's tuples and the Python-converted slow rows can follow each
        other chunk by chunk; their order within the range does not matter.
        """
        tx = Transformer(self.conn)
        registry = self.conn.adapters.types
        oids = [registry.get_oid(name) for name in self.types]
        tx.set_dumper_types(oids, pq.Format.BINARY)
        formats = [PyFormat.BINARY] * len(oids)

        def dump(row: Sequence[Any]) -> Any:
            return tx.dump_sequence(row, formats)

        with self.conn.cursor() as cur:
            writer = _CountingWriter(cur)
            with cur.copy(self.stmt, writer=writer) as cp:
                cp.write(compiled.SIGNATURE)
                pending = 0  # rows read since the last progress report: one report per batch_rows, as _stream
                for data, n, slow in compiled.read_range(self.sqlite_path, self.spec, codec, self.opts.batch_rows):
                    if data:
                        cp.write(data)
                    self.copied += n - len(slow)
                    if slow:
                        good, _, bad = self._convert(slow)
                        if good:
                            cp.write(compiled.encode_rows(dump, good))
                        self.copied += len(good)
                        self.kept += bad
                    pending += n
                    if pending >= self.opts.batch_rows:
                        if self.should_cancel():
                            raise Cancelled()
                        self._batch_done(pending)
                        pending = 0
                if pending:
                    self._batch_done(pending)
                cp.write(compiled.TRAILER)
            self.nbytes = writer.nbytes
        if self.kept:
            rejects_mod.store(self.conn, self.spec.copy_id, self.spec.table, self.spec.lo, self.kept)

    def _batched(self) -> None:
        for batch in self._batches():
            if self.should_cancel():
                raise Cancelled()
            good, good_src, bad = self._convert(batch)
            if good:
                self._copy_rows(good, good_src, bad)
            if bad:
                rejects_mod.store(self.conn, self.spec.copy_id, self.spec.table, self.spec.lo, bad)
                self.kept += bad
            self._batch_done(len(batch))

    def _batch_done(self, n: int) -> None:
        """Count, check the reject limit, report progress."""
        self.read += n
        limit = self.opts.max_rejects
        if limit is not None and self.prior_rejects + self.rejected > limit:
            raise _OverLimit(self.prior_rejects + self.rejected)
        el = max(time.monotonic() - self.t0, 1e-6)
        self.progress(Progress(
            self.read, max(self.spec.est_rows, self.read),
            f"{self.spec.table} range {self.spec.index + 1}/{self.spec.count}: {self.read} rows",
            step="copy",
            data={"table": self.spec.table, "range_lo": self.spec.lo, "rows_per_s": round(self.read / el),
                  "mb_per_s": round(self.nbytes / el / 1e6, 2), "copied": self.copied, "rejected": self.rejected},
        ))

    def _convert(self, batch: Sequence[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], Sequence[tuple[Any, ...]],
                                                                  list[RejectRecord]]:
        """Convert a batch column by column; return good rows, their source rows, and reject records.

        Each column first gets its whole-column fast check (``fastpath``); a
        column that fails it is converted value by value, noting which rows
        failed (rejected) or had a value replaced (kept, with a warning).
        """
        cols = list(zip(*batch, strict=True))
        out: list[Sequence[Any]] = []
        failed: set[int] = set()
        noted: set[int] = set()
        for j, (fast, conv) in enumerate(zip(self.fast, self.convs, strict=True)):
            col = cols[j + 1]
            done = fast(col)
            if done is None:
                done = self._slow_column(col, conv, failed, noted)
            if j in self.not_null and None in done:
                failed.update(i for i, v in enumerate(done) if v is None)
            if j in self.json_cols and self.binary:
                done = _json_wire(done, self.json_cols[j])
            out.append(done)
        rows = list(zip(*out, strict=True))
        if not failed and not noted:
            return rows, batch, []
        bad: list[RejectRecord] = []
        for i in sorted(failed | noted):
            bad += self._explain(batch[i])
        self.rejected += len(failed)
        if not failed:
            return rows, batch, bad
        keep = [i for i in range(len(batch)) if i not in failed]
        return [rows[i] for i in keep], [batch[i] for i in keep], bad

    def _slow_column(self, col: Sequence[Any], conv: Any, failed: set[int], noted: set[int]) -> list[Any]:
        notes = self.notes
        done = list(col)
        for i, v in enumerate(col):
            if v is None or i in failed:
                continue
            try:
                done[i] = conv(v)
            except Reject:
                failed.add(i)
                continue
            if notes:
                notes.clear()
                noted.add(i)
        return done

    def _explain(self, row: tuple[Any, ...]) -> list[RejectRecord]:
        """Slow path for one row: which columns failed or were replaced, and why."""
        key = self._key(row)
        found = []
        for c, f, v in zip(self.spec.columns, self.convs, row[1:], strict=True):
            self.notes.clear()
            if v is None:
                if c.type.not_null:
                    found.append((key, c.source, "", f"null_in_not_null: target column {c.target} is NOT NULL"))
                continue
            try:
                f(v)
            except Reject as r:
                found.append((key, c.source, hex_of(v), r.reason))
                continue
            found += [(key, c.source, hex_of(v), n) for n in self.notes]
        self.notes.clear()
        return found

    def _key(self, row: tuple[Any, ...]) -> str:
        """The row's key for the reject store: its primary key values, else ``rowid:N`` (SQLite's rowid).

        SQLite lets a non-INTEGER primary key column hold NULL (a historical
        bug it keeps); such a key names no row, so the rowid is used as for a
        keyless table, never the text ``None``.
        """
        return rejects_mod.reject_key(row[0], [row[1 + i] for i in self.pk_idx])

    def _copy_rows(self, rows: Sequence[Sequence[Any]], src: Sequence[tuple[Any, ...]], bad: list[RejectRecord]) -> None:
        """COPY rows inside a savepoint; on a server data error, bisect down to the refused rows."""
        try:
            with self.conn.transaction(), self.conn.cursor() as cur:
                writer = _CountingWriter(cur)
                with cur.copy(self.stmt, writer=writer) as cp:
                    if self.binary:
                        cp.set_types(self.types)
                    for r in rows:
                        cp.write_row(r)
                self.nbytes += writer.nbytes
            self.copied += len(rows)
        except _SERVER_DATA_ERRORS as exc:
            if len(rows) == 1:
                diag = exc.diag
                reason = f"server_refused: {diag.message_primary or exc}"
                bad.append((self._key(src[0]), diag.column_name, "", reason))
                self.rejected += 1
                return
            mid = len(rows) // 2
            self._copy_rows(rows[:mid], src[:mid], bad)
            self._copy_rows(rows[mid:], src[mid:], bad)
