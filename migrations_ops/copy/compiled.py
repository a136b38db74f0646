"""When a range can go through the C row codec (``_rowcodec.c``), and how its rows are described to it.

The codec covers the target types of a typical SQLAlchemy/SQLite app; a range
with any other column type (float4, bpchar, a numeric with a negative scale,
...) keeps the pure-Python path. ``MOP_COPY_CODEC=python`` forces that path everywhere: the
equivalence tests run both and compare the results, and a DBA can rule the C
code out while investigating.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SourceUnreadable
from .options import ColumnPlan, RangeSpec
from .source import KEY_MAX, KEY_MIN, STORAGE_CLASSES, SourceTable, range_select
from .typemap import MS_THRESHOLD, BadUtf8

try:
    from . import _rowcodec
except ImportError:  # not built (no C compiler): everything still works, in Python
    _rowcodec = None  # type: ignore[assignment]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
"""Binary COPY header: signature, flags, header extension length."""
TRAILER = b"\xff\xff"
CHUNK_BYTES = 32 * 1024
"""Codec output per chunk: psycopg's COPY writer queues up to 1024 buffers, so this bounds that queue at 32 MiB
(as its own 32 KiB row buffer does) when the server is slower than the reader."""

_KINDS = {"int2": 1, "int4": 2, "int8": 3, "float8": 4, "bool": 5, "text": 6, "varchar": 6, "timestamptz": 7,
          "date": 8, "json": 9, "jsonb": 10, "uuid": 11, "bytea": 12, "timestamp": 13, "numeric": 14}
_EPOCH_US = {"s": 1_000_000, "ms": 1000, "mixed": 0}
"""Codec argument of a time column's epoch unit: microseconds per unit, 0 for each number by its magnitude."""

Chunk = tuple[bytes, int, list[tuple[Any, ...]]]


def available() -> bool:
    """True when the extension is built and not switched off by ``MOP_COPY_CODEC=python``."""
    return _rowcodec is not None and os.environ.get("MOP_COPY_CODEC", "c") != "python"


def column_spec(col: ColumnPlan) -> tuple[int, int, bool] | None:
    """``(kind, arg, not_null)`` for the codec, or None when the codec does not handle this target type."""
    kind = _KINDS.get(col.type.name)
    if kind is None or col.epoch_unit not in _EPOCH_US:
        return None
    arg = -1
    if col.type.name == "varchar" and col.type.length is not None:
        arg = col.type.length
    elif col.type.name in ("timestamp", "timestamptz"):
        arg = _EPOCH_US[col.epoch_unit]
    elif col.type.name == "numeric" and col.type.precision is not None:
        # to_decimal skips the scale check when scale is None, and a negative scale rounds to tens:
        # both are rare enough to leave to Python
        p, s = col.type.precision, col.type.scale
        if s is None or not 0 <= s <= p <= 1000:
            return None
        arg = p << 16 | s
    return kind, arg, col.type.not_null


def range_specs(spec: RangeSpec) -> list[tuple[int, int, bool]] | None:
    """The codec's column list for a range, or None when the range must take the Python path."""
    if not available() or spec.key not in ("rowid", "_rowid_", "oid") or not spec.binary:
        return None
    cols = [column_spec(c) for c in spec.columns]
    return None if any(c is None for c in cols) else cols  # type: ignore[return-value]


def read_range(sqlite_path: str | Path, spec: RangeSpec, columns: Sequence[tuple[int, int, bool]],
               chunk_rows: int) -> Iterator[Chunk]:
    """Chunks of the range: (binary COPY tuples, rows read, slow rows as ``read_batches`` gives them)."""
    assert _rowcodec is not None and spec.key is not None
    query = range_select(spec.table, spec.key, [c.source for c in spec.columns])
    uri = Path(sqlite_path).resolve().as_uri() + "?mode=ro"
    try:
        reader = _rowcodec.RangeReader(uri, query, spec.lo, spec.hi, list(columns), BadUtf8, chunk_rows, CHUNK_BYTES)
    except OSError as exc:
        raise _as_source_error(sqlite_path, exc) from None
    try:
        yield from reader
    except OSError as exc:
        raise _as_source_error(sqlite_path, exc) from None
    finally:
        reader.close()


def _as_source_error(sqlite_path: str | Path, exc: OSError) -> Exception:
    """The codec reports SQLite's errors as ``OSError("sqlite: ...")``: name the file and the damage like
    the Python path does (``SourceUnreadable``); any other OSError stays what it is."""
    text = str(exc)
    if not text.startswith("sqlite: "):
        return exc
    return SourceUnreadable(str(sqlite_path), f"the file is damaged ({text.removeprefix('sqlite: ')})")


def encode_rows(dump: Any, rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows converted in Python as binary COPY tuples (``dump`` is a Transformer's ``dump_sequence``)."""
    out = bytearray()
    for row in rows:
        out += struct.pack(">h", len(row))
        for field in dump(row):
            if field is None:
                out += b"\xff\xff\xff\xff"
            else:
                out += struct.pack(">i", len(field))
                out += field
    return bytes(out)


# --- the pre-flight's read: slow rows and storage classes in one pass ------------------------------------


Profile = dict[str, dict[str, int]]
"""Per column, values per SQLite storage class (``source.STORAGE_CLASSES`` order, classes with none left out)."""


@dataclass(frozen=True, slots=True)
class ReadFigures:
    """What the pre-flight's one C read of a table counts besides its slow rows."""

    profile: Profile
    epochs: dict[str, tuple[int, int]]
    """Per time column read (timestamp, timestamptz, date): its epoch numbers as ``(seconds, milliseconds)`` by
    ``source.epoch_counts``' rule; empty when not counted."""


def scan_range(sqlite_path: str | Path, spec: RangeSpec, columns: Sequence[tuple[int, int, bool]],
               profile_of: Sequence[str], chunk_rows: int = 10_000, *, epochs: bool = False,
               ) -> tuple[list[tuple[Any, ...]], ReadFigures]:
    """The range's slow rows (as ``read_range`` gives them) and the storage-class profile of ``profile_of``
    (the table's source columns), counted on the same read: the pre-flight needs both, and one pass over a
    large table costs what two did. No COPY bytes are kept.

    :param columns: the codec's list for ``spec.columns`` (``range_specs``); empty for a profile only.
    :param epochs: also count the time columns' epoch numbers (the pre-flight's units without a SQL scan each).
    """
    assert _rowcodec is not None and spec.key is not None
    read = [c.source for c in spec.columns]
    seen = set(read)
    extra = [c for c in profile_of if c not in seen]
    query = range_select(spec.table, spec.key, read + extra)
    uri = Path(sqlite_path).resolve().as_uri() + "?mode=ro"
    slow: list[tuple[Any, ...]] = []
    try:
        reader = _rowcodec.RangeReader(uri, query, spec.lo, spec.hi, list(columns), BadUtf8, chunk_rows, CHUNK_BYTES,
                                       extra=len(extra), profile=True, check_only=True,
                                       epoch_threshold=float(MS_THRESHOLD) if epochs else 0.0)
    except OSError as exc:
        raise _as_source_error(sqlite_path, exc) from None
    try:
        for _data, _n, rows in reader:
            slow += rows
        counts = dict(zip(read + extra, reader.profile(), strict=True))
        units = reader.epochs() or []
    except OSError as exc:
        raise _as_source_error(sqlite_path, exc) from None
    finally:
        reader.close()
    profile = {c: {cls: n for cls, n in zip(STORAGE_CLASSES, counts[c], strict=True) if n} for c in profile_of}
    time_kinds = {_KINDS[k] for k in ("timestamp", "timestamptz", "date")}
    found = {c: (s, ms) for c, spec_c, (s, ms) in zip(read, columns, units, strict=False) if spec_c[0] in time_kinds}
    return slow, ReadFigures(profile, found)


def storage_profile(sqlite_path: str | Path, table: SourceTable) -> Profile | None:
    """``source.storage_profile`` counted in C (about 5x faster than SQL's ``typeof()``); None when the codec is
    not available or the table has no rowid to read it by."""
    if not available() or table.key not in ("rowid", "_rowid_", "oid") or not table.columns:
        return None
    spec = RangeSpec("profile", table.name, "", table.name, table.key, table.pk_columns, (), KEY_MIN, KEY_MAX)
    return scan_range(sqlite_path, spec, [], [c.name for c in table.columns])[1].profile
