"""Copying one key range: read keyset batches, convert, COPY, checkpoint, all in one transaction."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.adapt import Dumper
from psycopg.copy import QueuedLibpqWriter
from psycopg.pq import Format
from psycopg.types import TypeInfo

from migrations_ops.errors import Cancelled
from migrations_ops.progress import CancelFn, Progress, ProgressFn, never_cancel, no_progress
from migrations_ops.target import TargetConn, connect

from . import rejects as rejects_mod
from .errors import TooManyRejects
from .options import CopyOptions, RangeSpec
from .ranges import application_name
from .source import open_source, read_batches
from .store import take_target_lock
from .typemap import Reject, converter, hex_of

_SERVER_DATA_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


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


class _JsonbTextDumper(Dumper):
    """Send already-validated JSON text as jsonb binary (version byte 1 + text): no re-serialising."""

    format = Format.BINARY

    def dump(self, obj: str) -> bytes:
        return b"\x01" + obj.encode()


class _JsonTextDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: str) -> bytes:
        return obj.encode()


class _CountingWriter(QueuedLibpqWriter):
    """Queue COPY data to a writer thread (conversion and network overlap) and count the bytes."""

    nbytes = 0

    def write(self, data: Any) -> None:
        self.nbytes += len(data)
        super().write(data)


def _register_json_dumpers(conn: psycopg.Connection) -> None:
    for name, base in (("jsonb", _JsonbTextDumper), ("json", _JsonTextDumper)):
        info = TypeInfo.fetch(conn, name) if conn.adapters.types.get(name) is None else conn.adapters.types[name]
        cls = type(f"_{name}_text", (base,), {"oid": info.oid})  # type: ignore[union-attr]
        conn.adapters.register_dumper(None, cls)


def copy_range(
    sqlite_path: str | Path,
    target: TargetConn,
    spec: RangeSpec,
    options: CopyOptions | None = None,
    progress: ProgressFn = no_progress,
    should_cancel: CancelFn = never_cancel,
    *,
    lock: bool = True,
) -> RangeResult:
    """Copy one key range of one table, with its checkpoint and rejects, in one target transaction.

    Steps: 1 take the target lock shared (ranges of one copy run side by side;
    the migration runner is kept out); 2 claim the range by inserting its
    checkpoint row: a conflict means it was committed before (or by a
    redelivered twin, whose commit we waited for), so return ``skipped``;
    3 per keyset batch: convert each row (a failing value rejects its row),
    COPY the good rows inside a savepoint (a row the server still refuses is
    isolated by bisection and rejected with the server's message), store the
    rejects, report progress, honour ``should_cancel`` and ``max_rejects``;
    4 write the counts into the checkpoint row and commit. A crash anywhere
    before the commit leaves no trace, so the range is simply redone.

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
            job = _RangeJob(conn, src, spec, opts, progress, should_cancel)
            job.run()
            seconds = time.monotonic() - started
            conn.execute(
                "UPDATE mop.copy_checkpoint SET rows_read = %s, rows_copied = %s, rows_rejected = %s, bytes = %s, "
                "seconds = %s, finished_at = now() WHERE copy_id = %s AND table_name = %s AND range_lo = %s",
                (job.read, job.copied, job.rejected, job.nbytes, seconds, spec.copy_id, spec.table, spec.lo),
            )
            conn.commit()
    finally:
        src.close()
    return RangeResult(spec.copy_id, spec.table, spec.lo, spec.hi, job.read, job.copied, job.rejected,
                       job.nbytes, seconds)


def _claim(conn: psycopg.Connection, spec: RangeSpec) -> RangeResult | None:
    """Insert the range's checkpoint row; if it exists already, return the stored result."""
    got = conn.execute(
        "INSERT INTO mop.copy_checkpoint (copy_id, table_name, range_lo, range_hi) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        (spec.copy_id, spec.table, spec.lo, spec.hi),
    ).fetchone()
    if got is not None:
        return None
    r = conn.execute(
        "SELECT rows_read, rows_copied, rows_rejected, bytes, seconds FROM mop.copy_checkpoint "
        "WHERE copy_id = %s AND table_name = %s AND range_lo = %s",
        (spec.copy_id, spec.table, spec.lo),
    ).fetchone()
    assert r is not None
    return RangeResult(spec.copy_id, spec.table, spec.lo, spec.hi, r[0], r[1], r[2], r[3], r[4], skipped=True)


class _RangeJob:
    """State of one range being copied (counts, converters, the COPY statement)."""

    def __init__(self, conn: psycopg.Connection, src: sqlite3.Connection, spec: RangeSpec, opts: CopyOptions,
                 progress: ProgressFn, should_cancel: CancelFn) -> None:
        self.conn, self.src, self.spec, self.opts = conn, src, spec, opts
        self.progress, self.should_cancel = progress, should_cancel
        self.read = self.copied = self.rejected = self.nbytes = 0
        self.notes: list[str] = []
        self.kept: list[tuple[str, str | None, str, str]] = []
        self.convs = [converter(c.type, epoch_unit=c.epoch_unit, text_policy=opts.text_policy, notes=self.notes)
                      for c in spec.columns]
        self.not_null = [i for i, c in enumerate(spec.columns) if c.type.not_null]
        sources = [c.source for c in spec.columns]
        self.pk_idx = [sources.index(p) for p in spec.pk_columns if p in sources]
        self.binary = spec.binary
        self.types = [c.type.name for c in spec.columns]
        fmt = sql.SQL("(FORMAT BINARY)" if self.binary else "(FORMAT TEXT)")
        self.stmt = sql.SQL("COPY {} ({}) FROM STDIN {}").format(
            sql.Identifier(spec.schema, spec.target_table),
            sql.SQL(", ").join(sql.Identifier(c.target) for c in spec.columns), fmt)
        if self.binary:
            _register_json_dumpers(conn)
        self.prior_rejects = rejects_mod.count_rejected_rows(conn, spec.copy_id) if opts.max_rejects is not None else 0

    def run(self) -> None:
        t0 = time.monotonic()
        cols = [c.source for c in self.spec.columns]
        for batch in read_batches(self.src, self.spec.table, self.spec.key, cols, self.spec.lo, self.spec.hi,
                                  self.opts.batch_rows):
            if self.should_cancel():
                raise Cancelled()
            good, bad = self._convert(batch)
            self.read += len(batch)
            if good:
                self._copy_rows(good, bad)
            if bad:
                rejects_mod.store(self.conn, self.spec.copy_id, self.spec.table, self.spec.lo, bad)
                self.kept += bad
            self._check_reject_limit()
            el = max(time.monotonic() - t0, 1e-6)
            self.progress(Progress(
                self.read, max(self.spec.est_rows, self.read),
                f"{self.spec.table} range {self.spec.index + 1}/{self.spec.count}: {self.read} rows",
                step="copy",
                data={"table": self.spec.table, "range_lo": self.spec.lo, "rows_per_s": round(self.read / el),
                      "mb_per_s": round(self.nbytes / el / 1e6, 2), "copied": self.copied, "rejected": self.rejected},
            ))

    def _convert(self, batch: Sequence[tuple[Any, ...]]) -> tuple[list[list[Any]], list[tuple[str, str | None, str, str]]]:
        """Convert a batch; return good rows and reject rows ``(key, column, value_hex, reason)``."""
        convs, notes, not_null = self.convs, self.notes, self.not_null
        good: list[list[Any]] = []
        bad: list[tuple[str, str | None, str, str]] = []
        for row in batch:
            try:
                out = [None if v is None else f(v) for f, v in zip(convs, row[1:], strict=True)]
                if not_null and None in out and any(out[i] is None for i in not_null):
                    raise Reject("null_in_not_null")
            except Reject:
                bad += self._explain(row)
                self.rejected += 1
                continue
            if notes:
                notes.clear()
                bad += self._explain(row)
            good.append(out)
        return good, bad

    def _explain(self, row: tuple[Any, ...]) -> list[tuple[str, str | None, str, str]]:
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
        if self.pk_idx:
            return ", ".join(str(row[1 + i]) for i in self.pk_idx)
        return f"rowid={row[0]}"

    def _copy_rows(self, rows: list[list[Any]], bad: list[tuple[str, str | None, str, str]],
                   keys: list[str] | None = None) -> None:
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
                key = ", ".join(str(rows[0][i]) for i in self.pk_idx) if self.pk_idx else "?"
                bad.append((key, diag.column_name, "", reason))
                self.rejected += 1
                return
            mid = len(rows) // 2
            self._copy_rows(rows[:mid], bad)
            self._copy_rows(rows[mid:], bad)

    def _check_reject_limit(self) -> None:
        """Stop when over the limit: roll the range back but keep its rejects for review.

        They are stored under the range, and deleted when the range is redone.
        """
        limit = self.opts.max_rejects
        if limit is None or self.prior_rejects + self.rejected <= limit:
            return
        total = self.prior_rejects + self.rejected
        self.conn.rollback()
        with self.conn.transaction():
            rejects_mod.store(self.conn, self.spec.copy_id, self.spec.table, self.spec.lo, self.kept)
        raise TooManyRejects(self.spec.copy_id, total, limit)
