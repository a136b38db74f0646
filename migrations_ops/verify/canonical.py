"""The canonical text form of a value, identical for SQLite and PostgreSQL.

Checksums only agree across two databases if both sides print every value
the same way; PostgreSQL prints ``2024-01-01 00:00:00+00``, SQLite holds
``2024-01-01T00:00:00Z`` or ``1704067200``. So each value is first read as
the *target* column's type (``adapt_sqlite``), then printed by one rule per
type (``canonical``). On the PostgreSQL side the same rules are SQL
expressions (``pg_field``), so the server hashes rows without sending them.

Rules, by the target column's kind:

- NULL: no text. A row is its fields joined by ``,``. Text-like kinds (text,
  json, other) are SQL literals (``quote_nullable``: ``'it''s'``, ``E'a\\b'``,
  ``NULL``), so neither NULL vs ``'NULL'`` nor text holding the separator can
  collide, and PostgreSQL prints each field in one pass (a length prefix
  evaluated every expression twice: 45 % slower). The other kinds are *bare*
  (``coalesce(text, 'NULL')``): their text never holds ``,`` or ``'`` nor reads
  ``NULL``, and quoting them cost PostgreSQL a third of its pass;
- bool: ``0`` / ``1``; int: decimal;
- float: shortest round-trip digits in PostgreSQL's ``float8out`` layout
  (``0.1``, ``16777217``, ``1e+20``), so the server needs no conversion;
- numeric: at the column's scale (``12.50``), unconstrained ones without
  trailing zeros (``trim_scale``);
- timestamptz: UTC ISO with microsecond precision as PostgreSQL prints it
  (``2024-01-01 00:00:00.5+00``: fraction without trailing zeros, ``+00``), so
  the server prints it with a cast instead of ``to_char`` (half the cost);
  timestamp the same without ``+00``; date ``YYYY-MM-DD``; time ``HH:MM:SS[.f]``;
- text: exact; bytea: lowercase hex; uuid: lowercase with hyphens;
- json / jsonb: PostgreSQL's ``jsonb`` text form (keys sorted by length then
  bytes, duplicate keys last-wins, ``", "`` / ``": "`` separators, numbers as
  numeric). That is sorted and whitespace-canonical, and it is the one
  canonical JSON the server can print without a user-defined function, which
  a read-only verification may not create.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from psycopg import sql

from migrations_ops.copy import typemap

UTC = dt.UTC
KINDS = (
    "bool", "int", "float", "float4", "numeric", "text", "bytea",
    "timestamptz", "timestamp", "date", "time", "json", "uuid", "other",
)
BARE_KINDS = frozenset({
    "bool", "int", "float", "float4", "numeric", "bytea", "timestamptz", "timestamp", "date", "time", "uuid",
})
"""Kinds printed without quotes: their canonical text never holds ``,`` or ``'`` and never reads ``NULL``."""
_PG_KIND = {
    "bool": "bool", "int2": "int", "int4": "int", "int8": "int", "oid": "int",
    "float8": "float", "float4": "float4", "numeric": "numeric",
    "text": "text", "varchar": "text", "bpchar": "text", "name": "text", "citext": "text",
    "bytea": "bytea", "timestamptz": "timestamptz", "timestamp": "timestamp", "date": "date",
    "time": "time", "json": "json", "jsonb": "json", "uuid": "uuid",
}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """How a target column's values are read and printed.

    ``epoch_unit`` is how numbers in a time column are read: ``s`` or ``ms``
    for the whole column, decided as the copy decides it
    (``copy.source.epoch_unit``, see ``checksum.source_column_types``);
    ``mixed`` (both occur in the column) and None read each number by its own
    magnitude, which is what the copy does for a mixed column.
    """

    kind: str
    scale: int | None = None
    epoch_unit: str | None = None

    @classmethod
    def from_pg(cls, typname: str, atttypmod: int = -1) -> ColumnType:
        """Kind from ``pg_type.typname`` and ``pg_attribute.atttypmod``.

        >>> ColumnType.from_pg("numeric", (10 << 16 | 2) + 4)
        ColumnType(kind='numeric', scale=2, epoch_unit=None)
        >>> ColumnType.from_pg("int8").kind, ColumnType.from_pg("tsvector").kind
        ('int', 'other')
        """
        kind = _PG_KIND.get(typname, "other")
        if kind != "numeric" or atttypmod < 4:
            return cls(kind)
        scale = (atttypmod - 4) & 0x7FF  # 11-bit signed since PostgreSQL 15 (numeric(2, -3))
        return cls(kind, scale - 0x800 if scale & 0x400 else scale)


class _JsonNull:
    """A JSON ``null`` document, which is not an SQL NULL (both would be None in Python)."""

    def __repr__(self) -> str:
        return "JSON_NULL"


JSON_NULL = _JsonNull()


class Unconvertible(ValueError):
    """A source value that cannot be read as the target type (the copy rejects such rows)."""


# --- printing target-typed values ------------------------------------------


def pg_float_text(v: float) -> str:
    """Shortest round-trip digits laid out as PostgreSQL's float8out does.

    >>> [pg_float_text(x) for x in (0.1, 16777217.0, 1e20, 1e15, 1e14, 1.5e-5, 0.0001, -0.0, 2.5)]
    ['0.1', '16777217', '1e+20', '1e+15', '100000000000000', '1.5e-05', '0.0001', '-0', '2.5']
    >>> pg_float_text(float("inf")), pg_float_text(float("nan")), pg_float_text(2.9388404737557112e16)
    ('Infinity', 'NaN', '2.9388404737557112e+16')
    """
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    if 1e-4 <= abs(v) < 1e15:  # fixed-point in both repr() and float8out
        r = repr(v)
        return r[:-2] if r.endswith(".0") else r
    sign = "-" if v < 0 else ""
    mant, _, e = _shortest(abs(v)).partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    point = len(ip) + (int(e) if e else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    x = point - 1
    if -4 <= x < 15:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return sign + digits + "0" * (point - len(digits))
        return f"{sign}{digits[:point]}.{digits[point:]}"
    frac = f".{digits[1:]}" if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{frac}e{'+' if x >= 0 else '-'}{abs(x):02d}"


def _shortest(v: float) -> str:
    """repr(v), unless it lies exactly halfway to a neighbour double.

    Python's repr accepts such a tie (it reads back by round-half-even);
    PostgreSQL's Ryu does not and prints one more digit. Ties only exist where
    doubles are integers two or more apart (|v| >= 2**53), so the check is exact
    integer arithmetic and the common case costs one comparison.
    """
    r = repr(v)
    if v < 2.0**53 or math.isinf(v):
        return r
    exact, half_ulp2 = int(v), math.ulp(v)
    if abs(int(Decimal(r)) - exact) * 2 != half_ulp2:
        return r
    for digits in range(len(r.partition("e")[0].replace(".", "").strip("0")) + 1, 18):
        cand = f"{v:.{digits - 1}e}"
        if float(cand) == v and abs(int(Decimal(cand)) - exact) * 2 != half_ulp2:
            return cand
    return f"{v:.16e}"


def numeric_text(d: Decimal, scale: int | None) -> str:
    """A decimal at the column's scale, or without trailing zeros when unconstrained.

    >>> numeric_text(Decimal("12.5"), 2), numeric_text(Decimal("12.500"), None), numeric_text(Decimal("1E+2"), None)
    ('12.50', '12.5', '100')
    >>> numeric_text(Decimal("-0.00"), None), numeric_text(Decimal("0.125"), 2)
    ('0', '0.13')
    >>> numeric_text(Decimal("12345678901234567890.123456789"), None)  # 29 digits: no rounding to 28
    '12345678901234567890.123456789'
    """
    if d.is_nan():
        return "NaN"
    if d.is_infinite():
        return "Infinity" if d > 0 else "-Infinity"
    if scale is not None:
        d = d.quantize(Decimal(1).scaleb(-scale), rounding="ROUND_HALF_UP")
    else:
        d = d.normalize(Context(prec=max(28, len(d.as_tuple().digits))))  # exact: no rounding to 28 digits
    text = format(d, "f")
    return text[1:] if d.is_zero() and text.startswith("-") else text


def jsonb_text(obj: Any) -> str:
    """PostgreSQL's jsonb output for a parsed JSON value.

    >>> jsonb_text({"b": 1, "aa": [True, None, Decimal("1.10")], "a": "日本\\n"})
    '{"a": "日本\\\\n", "b": 1, "aa": [true, null, 1.10]}'
    """
    t = type(obj)
    if t is str:
        return _json_str(obj)
    if t is dict:
        if "".join(obj).isascii():  # byte length is len(); sort by text, then (stably) by length
            keys = sorted(sorted(obj), key=len)
        else:
            keys = sorted(obj, key=_jsonb_key_order)
        return "{" + ", ".join([_json_str(k) + ": " + jsonb_text(obj[k]) for k in keys]) + "}"
    if t is int:
        return str(obj)
    if t is list or t is tuple:
        return "[" + ", ".join([jsonb_text(x) for x in obj]) + "]"
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if t is float:
        return numeric_text_json(Decimal(repr(obj)))
    if t is Decimal:
        return numeric_text_json(obj)
    if isinstance(obj, str | int | dict | list):  # subclasses
        return jsonb_text({str: str, int: int, dict: dict, list: list}[next(
            b for b in (str, int, dict, list) if isinstance(obj, b))](obj))
    raise Unconvertible(f"not a JSON value: {type(obj).__name__}")


_json_str = json.encoder.encode_basestring  # the C escaper json.dumps(ensure_ascii=False) uses


def _jsonb_key_order(k: str) -> tuple[int, str]:
    """jsonb orders keys by byte length, then bytes (code point order is the same in UTF-8)."""
    return (len(k) if k.isascii() else len(k.encode("utf-8")), k)


def numeric_text_json(d: Decimal) -> str:
    """A JSON number as jsonb keeps it: numeric, display scale from the literal."""
    text = format(d, "f")
    return text[1:] if d.is_zero() and text.startswith("-") else text


def _frac(us: int) -> str:
    """PostgreSQL's fraction of a second: none when zero, else without trailing zeros."""
    return f".{us:06d}".rstrip("0") if us else ""


def _ts_text(v: dt.datetime) -> str:
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        + _frac(v.microsecond)
    )


def canonical(value: Any, ct: ColumnType) -> str | None:
    """The canonical text of a target-typed Python value (what psycopg returns).

    >>> canonical(True, ColumnType("bool")), canonical(None, ColumnType("text"))
    ('1', None)
    >>> canonical(dt.datetime(2024, 1, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=9))), ColumnType("timestamptz"))
    '2024-01-01 00:00:00+00'
    >>> canonical(b"\\x00\\xff", ColumnType("bytea")), canonical(0.1, ColumnType("float4"))
    ('00ff', '0.10000000149011612')
    """
    if value is None:
        return None
    if value is JSON_NULL:
        return "null"
    k = ct.kind
    if k == "bool":
        return "1" if value else "0"
    if k == "int":
        return str(int(value))
    if k == "float":
        return pg_float_text(float(value))
    if k == "float4":
        return pg_float_text(struct.unpack("f", struct.pack("f", float(value)))[0])
    if k == "numeric":
        return numeric_text(value if isinstance(value, Decimal) else Decimal(str(value)), ct.scale)
    if k == "bytea":
        return bytes(value).hex()
    if k == "timestamptz":
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return _ts_text(value) + "+00"
    if k == "timestamp":
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return _ts_text(value)
    if k == "date":
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    if k == "time":
        return f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}" + _frac(value.microsecond)
    if k == "json":
        return jsonb_text(value)
    return str(value)


def field(text: str | None, ct: ColumnType | None = None) -> str:
    r"""One field of a row's text: bare for ``BARE_KINDS``, else as PostgreSQL's ``quote_nullable`` prints it.

    >>> field(None), field("NULL"), field("it's"), field("a\\b"), field("12.50", ColumnType("numeric", 2))
    ('NULL', "'NULL'", "'it''s'", "E'a\\\\b'", '12.50')
    """
    if text is None:
        return "NULL"
    if ct is not None and ct.kind in BARE_KINDS:
        return text
    if "\\" in text:
        return "E'" + text.replace("'", "''").replace("\\", "\\\\") + "'"
    return "'" + text.replace("'", "''") + "'"


def unfield(f: str) -> str | None:
    r"""The canonical text back from a field (for reports).

    >>> unfield("NULL"), unfield("'it''s'"), unfield(field("a\\b'")), unfield("12.50")
    (None, "it's", "a\\b'", '12.50')
    """
    if f == "NULL":
        return None
    if not f.startswith(("'", "E'")):
        return f  # a bare field, or the invalid UTF-8 marker (``INVALID_UTF8``)
    body = f[2:-1] if f.startswith("E") else f[1:-1]
    body = body.replace("''", "'")
    return body.replace("\\\\", "\\") if f.startswith("E") else body


def row_hash(row_text: str) -> int:
    """First 60 bits of md5, as PostgreSQL computes ``('x'||substr(md5(t),1,15))::bit(60)::bigint``.

    >>> hex(row_hash("'1','a'"))
    '0xca7154b7844ae23'
    """
    return int.from_bytes(hashlib.md5(row_text.encode("utf-8", "surrogatepass"), usedforsecurity=False).digest()[:8], "big") >> 4


# --- reading raw SQLite values as the target type --------------------------

TIME_KINDS = frozenset({"timestamptz", "timestamp", "date"})
_INT8 = typemap._INT_BOUNDS["int8"]


def epoch_unit_of(raw: Any, ct: ColumnType) -> str:
    """The column's epoch unit, or for an undecided column the unit the copy's rule gives this value alone.

    >>> epoch_unit_of(1709294400000, ColumnType("timestamptz")), epoch_unit_of(86400000, ColumnType("date", None, "ms"))
    ('ms', 'ms')
    """
    if ct.epoch_unit in ("s", "ms"):  # None (undecided) and "mixed": each number by its own magnitude
        return ct.epoch_unit
    try:
        top = abs(float(raw)) if not isinstance(raw, bytes) else 0.0
    except (TypeError, ValueError):
        return "s"
    return "ms" if top >= typemap.MS_THRESHOLD else "s"


def parse_timestamp(raw: Any, *, aware: bool, epoch_unit: str | None = None) -> dt.datetime:
    """ISO text (``Z``, offsets, no zone = UTC, date only) or epoch numbers, by the copy's rules (``typemap``).

    >>> parse_timestamp("2024-03-01 12:00:00+09:00", aware=True).isoformat()
    '2024-03-01T03:00:00+00:00'
    >>> parse_timestamp(1709294400000, aware=True) == parse_timestamp("2024-03-01T12:00:00Z", aware=True)
    True
    >>> parse_timestamp("1709294400", aware=False).isoformat()
    '2024-03-01T12:00:00'

    """
    ct = ColumnType("timestamptz" if aware else "timestamp", None, epoch_unit)
    return adapt_sqlite(raw, ct)


def _json_value(raw: Any) -> Any:
    text = typemap.to_json_text(raw, True, "reject", [])  # canonical JSON is jsonb's text: no \u0000 in it
    parsed = json.loads(text, parse_float=Decimal)
    return JSON_NULL if parsed is None else parsed


def _aware_utc(d: dt.datetime) -> dt.datetime:
    return d.astimezone(UTC)


_COPY_RULES: dict[str, Callable[[Any, str], Any]] = {
    "bool": lambda raw, unit: typemap.to_bool(raw),
    "int": lambda raw, unit: typemap.to_int(raw, *_INT8),
    "float": lambda raw, unit: typemap.to_float8(raw),
    "float4": lambda raw, unit: typemap.to_float8(raw),  # printed as PostgreSQL's real stores it (``canonical``)
    "numeric": lambda raw, unit: typemap.to_decimal(raw, None, None),
    "timestamptz": lambda raw, unit: _aware_utc(typemap.to_timestamptz(raw, unit)),
    "timestamp": lambda raw, unit: typemap.to_timestamp(raw, unit),
    "date": lambda raw, unit: typemap.to_date(raw, unit),
    "json": lambda raw, unit: _json_value(raw),
    "uuid": lambda raw, unit: typemap.to_uuid(raw),
    "bytea": lambda raw, unit: typemap.to_bytea(raw),
}
"""The copy's own converters (``copy.typemap``), per kind: a value reads here as the copy loads it, or not at all."""


def adapt_sqlite(raw: Any, ct: ColumnType) -> Any:
    """Read a raw SQLite value as the target column's Python type (None stays None), by the copy's rules.

    What the copy would reject raises ``Unconvertible`` with the copy's reason.

    >>> adapt_sqlite("true", ColumnType("bool")), adapt_sqlite(3.0, ColumnType("int"))
    (True, 3)
    >>> adapt_sqlite('{"b":1,"a":2}', ColumnType("json"))
    {'b': 1, 'a': 2}
    >>> adapt_sqlite("yes", ColumnType("bool"))
    Traceback (most recent call last):
    ...
    migrations_ops.verify.canonical.Unconvertible: not_boolean: 'yes' is not 0/1/t/f/true/false
    """
    if raw is None:
        return None
    k = ct.kind
    rule = _COPY_RULES.get(k)
    try:
        if rule is not None:
            return rule(raw, epoch_unit_of(raw, ct) if k in TIME_KINDS else "s")
        if k == "text":
            return raw.decode("utf-8") if isinstance(raw, bytes) else (raw if isinstance(raw, str) else str(raw))
        if k == "time":
            return dt.time.fromisoformat(str(raw).strip())
        return raw.hex() if isinstance(raw, bytes) else str(raw)
    except typemap.Reject as r:
        raise Unconvertible(r.reason) from None
    except (ValueError, TypeError, InvalidOperation, OverflowError, UnicodeDecodeError, RecursionError) as exc:
        if isinstance(exc, Unconvertible):
            raise
        raise Unconvertible(f"{raw!r} is not a {k}: {exc}") from None


INVALID_UTF8 = "!utf8:"
"""Prefix of the field of a source text that is not valid UTF-8, followed by its bytes in hex.

No field of the target starts with ``!`` (quoted fields start with ``'`` or ``E'``,
bare ones with a digit, ``-``, a letter or ``N``), so such a row always differs:
the copy rejected it, and the report names it missing (or changed) instead of crashing.
"""


def decode_text(data: bytes) -> str:
    """SQLite ``text_factory``: UTF-8 text, or ``INVALID_UTF8`` and the hex of bytes that are not UTF-8.

    >>> decode_text("日本".encode()), decode_text(b"caf\\xe9")
    ('日本', '!utf8:636166e9')
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return INVALID_UTF8 + data.hex()


def sqlite_field(raw: Any, ct: ColumnType) -> str:
    """The field text of a raw SQLite value; a value the target type cannot hold prints as ``'!<repr>'``.

    ``!`` never starts a canonical text of the target side, and a bare kind is
    never quoted there, so such a row always shows as changed (the copy
    rejected it, or the target holds something else).

    >>> sqlite_field("2024-01-01T00:00:00Z", ColumnType("timestamptz"))
    '2024-01-01 00:00:00+00'
    >>> sqlite_field("abc", ColumnType("int")), sqlite_field(b"caf\\xc3\\xa9", ColumnType("text"))
    ("'!''abc'''", "'café'")
    """
    try:
        return field(canonical(adapt_sqlite(raw, ct), ct), ct)
    except (Unconvertible, InvalidOperation, OverflowError):  # e.g. 1e300 at numeric(12, 2)'s scale
        return field(f"!{raw!r}")


# --- the same rules as PostgreSQL expressions ------------------------------


def pg_text(col: sql.Composable, ct: ColumnType) -> sql.Composable:
    """SQL printing a column's canonical text (NULL stays NULL); casts only, no per-value function call
    but ``trim_scale`` and ``encode`` (``to_char`` cost twice a cast)."""
    k = ct.kind
    if k == "bool":
        return sql.SQL("{}::int::text").format(col)
    if k == "float4":
        return sql.SQL("{}::float8::text").format(col)
    if k == "numeric" and ct.scale is None:
        return sql.SQL("trim_scale({})::text").format(col)
    if k == "bytea":
        return sql.SQL("encode({}, 'hex')").format(col)
    if k == "json":
        return sql.SQL("{}::jsonb::text").format(col)
    return sql.SQL("{}::text").format(col)


def pg_field(col: sql.Composable, ct: ColumnType) -> sql.Composable:
    """SQL for ``field(canonical(col), ct)``; needs extra_float_digits >= 1, DateStyle ISO and TimeZone UTC
    (``schema.open_session``), under which timestamps, dates and times print canonically by a plain cast."""
    if ct.kind in BARE_KINDS:
        return sql.SQL("coalesce({}, 'NULL')").format(pg_text(col, ct))
    return sql.SQL("quote_nullable({})").format(pg_text(col, ct))


def pg_row_text(fields: list[sql.Composable]) -> sql.Composable:
    """Fields joined by ``,`` (operators, not concat_ws: no 100-argument limit)."""
    return sql.SQL(" || ',' || ").join(fields) if fields else sql.SQL("''")


def pg_row_hash(row_text: sql.Composable) -> sql.Composable:
    """The 60-bit md5 prefix of a text (a row's, or a chunk's); summed as numeric."""
    return sql.SQL("('x' || substr(md5({}), 1, 15))::bit(60)::bigint").format(row_text)


def row_hash_bytes(data: bytes) -> int:
    """``pg_row_hash`` of UTF-8 bytes, in Python.

    >>> row_hash_bytes("'1','a'".encode()) == row_hash("'1','a'")
    True
    """
    return int.from_bytes(hashlib.md5(data, usedforsecurity=False).digest()[:8], "big") >> 4


# --- SQLite: simple cases in SQL, the rest through lean Python functions --

_DIGITS_TS = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9][T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]"
_SIX = "[0-9][0-9][0-9][0-9][0-9][0-9]"


def _ts_fast(c: sql.Composable, zone: bool, call: sql.Composable) -> sql.Composable:
    """ISO text at second or microsecond precision, with ``Z`` or no zone (taken as UTC), in SQL.

    One GLOB decides; the lengths pick the layout; anything else goes to ``call``.
    """
    z = sql.SQL("'+00'" if zone else "''")
    return sql.SQL(
        "WHEN typeof({c}) = 'text' AND {c} GLOB {ts} THEN CASE "
        "WHEN length({c}) = 19 OR (length({c}) = 20 AND substr({c}, 20) = 'Z') "
        "THEN substr({c}, 1, 10) || ' ' || substr({c}, 12, 8) || {z} "
        "WHEN (length({c}) = 26 OR (length({c}) = 27 AND substr({c}, 27) = 'Z')) AND substr({c}, 20) GLOB {us} "
        "THEN substr({c}, 1, 10) || ' ' || substr({c}, 12, 8) || rtrim(rtrim(substr({c}, 20, 7), '0'), '.') || {z} "
        "ELSE {call} END "
    ).format(c=c, ts=sql.SQL("'" + _DIGITS_TS + "*'"), us=sql.SQL("'." + _SIX + "*'"), z=z, call=call)


def _float_fast(c: sql.Composable) -> sql.Composable:
    """A double whose 15 significant digits read back exactly: those digits are its shortest form.

    Any two decimals of at most 15 digits are distinct doubles, so a 15-digit
    ``%g`` that round-trips is the shortest round-trip text, and ``%g`` switches
    to an exponent at the same points as float8out. The magnitude bounds keep
    SQLite's own text-to-double conversion (inexact near subnormals) out of it.
    """
    g = sql.SQL("printf('%.15g', {})").format(c)
    return sql.SQL(
        "WHEN typeof({c}) IN ('real', 'integer') AND abs({c}) >= 1e-280 AND abs({c}) < 1e280 "
        "AND CAST({g} AS REAL) = {c} THEN {g} "
    ).format(c=c, g=g)


def _numeric_fast(c: sql.Composable, scale: int | None) -> sql.Composable:
    """Integers, and doubles that ``%.<scale>f`` prints exactly, at a column scale of 0 to 15.

    Below 10**(15 - scale) a ``scale``-decimal text that reads back as the double
    is the only one that does, so it is what ``numeric_text(Decimal(repr(x)))`` prints.
    """
    if scale is None or not 0 <= scale <= 15:
        return sql.SQL("")
    zeros = sql.SQL("'" + ("." + "0" * scale if scale else "") + "'")
    f = sql.SQL("printf({}, {})").format(sql.SQL("'%." + str(int(scale)) + "f'"), c)
    return sql.SQL(
        "WHEN typeof({c}) = 'integer' THEN CAST({c} AS TEXT) || {zeros} "
        "WHEN typeof({c}) = 'real' AND {c} = 0 THEN '0' || {zeros} "
        "WHEN typeof({c}) = 'real' AND abs({c}) < {limit} AND CAST({f} AS REAL) = {c} THEN {f} "
    ).format(c=c, zeros=zeros, f=f, limit=sql.SQL("1e" + str(15 - int(scale))))


# Each branch prints ``field()``: bare text, or an SQL literal for text. Backslashes are
# what PostgreSQL's quote_literal escapes beyond SQLite's quote() (and marks with E).
_SQLITE_FAST = {
    "int": "WHEN typeof({c}) = 'integer' THEN CAST({c} AS TEXT) ",
    "text": "WHEN typeof({c}) = 'text' THEN CASE WHEN instr({c}, '\\') > 0 "
            "THEN 'E' || quote(replace({c}, '\\', '\\\\')) ELSE quote({c}) END ",
    "bool": "WHEN typeof({c}) = 'integer' AND {c} IN (0, 1) THEN CAST({c} AS TEXT) ",
    "bytea": "WHEN typeof({c}) = 'blob' THEN lower(hex({c})) ",
    "date": "WHEN typeof({c}) = 'text' AND {c} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' "
            "AND date({c}, '+0 days') = {c} AND {c} >= '0001' THEN {c} ",  # a real day: Feb 30 is left to the copy's rule
}


def sqlite_field_sql(col: str, ct: ColumnType, *, safe: bool = False) -> sql.Composable:
    """SQLite expression for a column's field; common storage classes stay in C.

    The rest calls ``mop_f_<kind>(value)``. The sqlite3 module decodes a text
    argument before the function runs, so text that is not UTF-8 fails the
    statement ("user-defined function raised exception"); the caller then runs it
    again with ``safe=True``: ``mop_fs_<kind>(value, is_text)`` gets text as a
    BLOB and prints invalid UTF-8 as ``INVALID_UTF8`` (passing BLOBs always cost
    the JSON column 40 %). Composed with
    ``psycopg.sql`` (SQLite quotes identifiers as PostgreSQL does) from the quoted
    column, constant fragments and the integer scale; values never go in.

    >>> print(sqlite_sql(sqlite_field_sql("id", ColumnType("int"))))
    CASE WHEN "id" IS NULL THEN 'NULL' WHEN typeof("id") = 'integer' THEN CAST("id" AS TEXT) ELSE mop_f_int("id") END
    """
    if ct.kind not in KINDS:
        raise ValueError(f"unknown kind {ct.kind!r}")
    c = sql.Identifier(col)
    arg: sql.Composable = c
    if safe:
        arg = sql.SQL("CASE WHEN typeof({c}) = 'text' THEN CAST({c} AS BLOB) ELSE {c} END, typeof({c}) = 'text'"
                      ).format(c=c)
    prefix = "mop_fs_" if safe else "mop_f_"
    if ct.kind == "numeric":
        scale = sql.SQL("NULL") if ct.scale is None else sql.SQL(str(int(ct.scale)))
        call = sql.SQL("{}({}, {})").format(sql.SQL(prefix + "numeric"), scale, arg)
    else:
        call = sql.SQL("{}({})").format(sql.SQL(prefix + _function_kind(ct)), arg)
    if ct.kind in ("timestamptz", "timestamp"):
        fast: sql.Composable = _ts_fast(c, ct.kind == "timestamptz", call)
    elif ct.kind == "float":
        fast = _float_fast(c)
    elif ct.kind == "numeric":
        fast = _numeric_fast(c, ct.scale)
    else:
        fast = sql.SQL(_SQLITE_FAST.get(ct.kind, "")).format(c=c)
    return sql.SQL("CASE WHEN {c} IS NULL THEN 'NULL' {fast}ELSE {call} END").format(c=c, fast=fast, call=call)


def sqlite_sql(stmt: sql.Composable) -> str:
    """A composed statement as text for SQLite (no connection needed: no values are inlined)."""
    return stmt.as_string()


def _text_arg(fn: Callable[..., str]) -> Callable[..., str]:
    """Decode the text that ``sqlite_field_sql`` passed as a BLOB; text that is not UTF-8 is ``INVALID_UTF8``."""

    def wrapper(*args: Any) -> str:
        *head, raw, is_text = args
        if is_text:
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                return INVALID_UTF8 + raw.hex()
        return fn(*head, raw)

    return wrapper


def _lean(kind: str) -> Callable[[Any], str]:
    ct = ColumnType(kind)

    def generic(raw: Any) -> str:
        return sqlite_field(raw, ct)

    return generic


def _f_float(raw: Any) -> str:
    if type(raw) is float or type(raw) is int:
        return pg_float_text(float(raw))
    return sqlite_field(raw, ColumnType("float"))


def _f_numeric(scale: int | None, raw: Any) -> str:
    t = numeric_fast(raw, scale)
    if t is not None:
        return t
    return sqlite_field(raw, ColumnType("numeric", scale))


def numeric_fast(raw: Any, scale: int | None) -> str | None:
    """``numeric_text(Decimal(repr(raw)), scale)`` by string work when no rounding is needed, else None.

    >>> numeric_fast(12.5, 2), numeric_fast(7.0, None), numeric_fast(100, 2), numeric_fast(0.125, 2)
    ('12.50', '7', '100.00', None)
    """
    if type(raw) is int:
        return str(raw) + ("." + "0" * scale if scale else "") if scale is None or scale >= 0 else None
    if type(raw) is not float:
        return None
    r = repr(raw)
    if "e" in r or "n" in r or r.startswith("-0.0") and raw == 0:
        return None
    ip, _, fp = r.partition(".")
    if scale is None:
        fp = fp.rstrip("0")
        return ip + "." + fp if fp else ip
    if len(fp) > scale or scale < 0:
        return None
    return ip + "." + fp + "0" * (scale - len(fp)) if scale else ip


_JSON_DECODE = json.JSONDecoder(parse_float=Decimal).decode


def _f_json(raw: Any) -> str:
    if type(raw) is str:
        try:
            return field(jsonb_text(_JSON_DECODE(raw)))
        except (ValueError, Unconvertible, RecursionError):
            pass
    return sqlite_field(raw, ColumnType("json"))


def _function_kind(ct: ColumnType) -> str:
    """The ``mop_f_`` function's suffix: the kind, and for a time kind with a decided epoch unit, the unit.

    >>> _function_kind(ColumnType("date", None, "ms")), _function_kind(ColumnType("timestamp")), _function_kind(ColumnType("int"))
    ('date_ms', 'timestamp', 'int')
    """
    if ct.kind in TIME_KINDS and ct.epoch_unit in ("s", "ms"):
        return f"{ct.kind}_{ct.epoch_unit}"
    return ct.kind


def _lean_unit(kind: str, unit: str) -> Callable[[Any], str]:
    ct = ColumnType(kind, None, unit)

    def generic(raw: Any) -> str:
        return sqlite_field(raw, ct)

    return generic


def sqlite_functions() -> dict[str, tuple[int, Callable[..., str]]]:
    """The functions ``sqlite_field_sql`` calls: name -> (number of arguments, function)."""
    funcs: dict[str, Callable[..., str]] = {f"mop_f_{k}": _lean(k) for k in KINDS}
    funcs.update({f"mop_f_{k}_{u}": _lean_unit(k, u) for k in TIME_KINDS for u in ("s", "ms")})
    funcs.update({"mop_f_float": _f_float, "mop_f_numeric": _f_numeric, "mop_f_json": _f_json})
    out = {name: (2 if name == "mop_f_numeric" else 1, fn) for name, fn in funcs.items()}
    out.update({"mop_fs_" + name[6:]: (3 if name == "mop_f_numeric" else 2, _text_arg(fn)) for name, fn in funcs.items()})
    return out


def quote_sqlite(name: str) -> str:
    """Quote an SQLite identifier (double quotes, doubled inside), as ``sql.Identifier`` does.

    >>> quote_sqlite('we"ird 名前')
    '"we""ird 名前"'
    """
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return sql.Identifier(name).as_string()
