"""Pure conversions from SQLite values to the Python values psycopg sends.

SQLite stores a value by its own storage class whatever the column declares
(a column declared INTEGER may hold text), so each conversion looks at the
value, not the declaration, and is built for one *target* column type.
A value that cannot be represented exactly raises ``Reject(reason)``: the
caller rejects the whole row; nothing is ever replaced by an invented value.

Rules worth knowing:

- naive timestamps going into ``timestamptz`` are taken as UTC; aware
  timestamps going into ``timestamp`` are converted to UTC then stored naive;
- numbers in a timestamp column are epoch seconds or milliseconds, decided
  once per column by magnitude (``epoch_unit``); a column holding both
  (some numbers at or above ``MS_THRESHOLD``, some nonzero below) is
  ``mixed`` and each number is read by its own magnitude, so that
  1700000001 stays 2023 beside 1700000001000 (the pre-flight counts both);
- REAL going into ``numeric`` uses the shortest decimal that reads back as
  the same double (what SQLite prints), never the binary expansion;
- text with NUL or invalid UTF-8 follows the run's text policy: ``reject``,
  or ``replace`` (U+FFFD) with a ``replaced`` warning per value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

UTC = dt.UTC
_INT_RE = re.compile(r"\s*[+-]?\d+\s*\Z")
_NUM_RE = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*\Z")
_EPOCH_RE = re.compile(r"[+-]?\d+(\.\d+)?\Z")
_BOOL_TEXT = {"t": True, "true": True, "1": True, "f": False, "false": False, "0": False}
_INT_BOUNDS = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1), "int8": (-(2**63), 2**63 - 1)}
MS_THRESHOLD = 100_000_000_000
"""Epoch values at or above this magnitude are milliseconds (1e11 s is year 5138, 1e11 ms is 1973)."""

BINARY_TYPES = frozenset(
    {"int2", "int4", "int8", "float4", "float8", "numeric", "bool", "text", "varchar", "json", "jsonb",
     "uuid", "bytea", "date", "timestamp", "timestamptz"}
)
"""Target base types whose values we fully validate here and send in binary COPY."""


class BadUtf8(bytes):
    """SQLite text whose bytes are not valid UTF-8 (kept as the raw bytes)."""


def decode_text(raw: bytes) -> str | BadUtf8:
    """SQLite ``text_factory``: str for valid UTF-8, ``BadUtf8`` otherwise.

    >>> decode_text("日本".encode())
    '日本'
    >>> decode_text(b"ab\\xff")
    BadUtf8(b'ab\\xff')
    """
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return BadUtf8(raw)


BadUtf8.__repr__ = lambda self: f"BadUtf8({bytes(self)!r})"  # type: ignore[method-assign]


class Reject(Exception):
    """A value that cannot be converted exactly; ``reason`` is ``code: detail``."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.reason = str(self)


@dataclass(frozen=True, slots=True)
class TargetType:
    """A target column's type: base type name (domains resolved) and its modifiers."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    not_null: bool = False

    @property
    def binary(self) -> bool:
        return self.name in BINARY_TYPES

    @classmethod
    def from_typmod(cls, name: str, typmod: int, not_null: bool = False) -> TargetType:
        """Decode ``atttypmod`` for varchar/bpchar length and numeric precision/scale.

        >>> TargetType.from_typmod("numeric", (10 << 16 | 2) + 4)
        TargetType(name='numeric', length=None, precision=10, scale=2, not_null=False)
        >>> TargetType.from_typmod("varchar", 24).length
        20
        """
        if typmod < 0:
            return cls(name, not_null=not_null)
        if name in ("varchar", "bpchar"):
            return cls(name, length=typmod - 4, not_null=not_null)
        if name == "numeric":
            mod = typmod - 4
            scale = mod & 0x7FF
            scale = scale - 0x800 if scale & 0x400 else scale
            return cls(name, precision=(mod >> 16) & 0xFFFF, scale=scale, not_null=not_null)
        return cls(name, not_null=not_null)


Notes = list[str]
Converter = Callable[[Any], Any]


def hex_of(value: Any) -> str:
    """The value as hex of its bytes (text as UTF-8, numbers as their decimal text).

    >>> hex_of("a\\x00"), hex_of(b"\\xff"), hex_of(12)
    ('6100', 'ff', '3132')
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        value = repr(value)
    return str(value).encode("utf-8", "surrogateescape").hex()


# --- text ---------------------------------------------------------------------


def text_of(v: Any, policy: str, notes: Notes) -> str:
    """Text for a text-like target, applying the NUL / invalid UTF-8 policy.

    >>> text_of("日本語 🎉", "reject", [])
    '日本語 🎉'
    >>> text_of("a\\x00b", "reject", [])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: nul_in_text: text contains a NUL character
    >>> n = []; text_of(BadUtf8(b"caf\\xe9"), "replace", n), n
    ('caf�', ['replaced: invalid UTF-8 replaced by U+FFFD'])
    >>> text_of(42, "reject", []), text_of(0.1, "reject", [])
    ('42', '0.1')
    """
    t = type(v)
    if t is str:
        if "\x00" in v:
            if policy != "replace":
                raise Reject("nul_in_text", "text contains a NUL character")
            notes.append("replaced: NUL replaced by U+FFFD")
            return v.replace("\x00", "\ufffd")
        return v
    if t is BadUtf8:
        if policy != "replace":
            raise Reject("invalid_utf8", "text is not valid UTF-8")
        notes.append("replaced: invalid UTF-8 replaced by U+FFFD")
        return text_of(bytes(v).decode("utf-8", "replace"), policy, notes)
    if t is int:
        return str(v)
    if t is float:
        return repr(v)
    if t is bytes:
        try:
            return text_of(v.decode(), policy, notes)
        except UnicodeDecodeError:
            raise Reject("blob_not_text", "BLOB value is not UTF-8 text") from None
    raise Reject("unsupported_value", f"cannot convert {t.__name__} to text")


# --- numbers ------------------------------------------------------------------


def to_int(v: Any, lo: int, hi: int) -> int:
    """An integer within [lo, hi]; integral REAL and integer text accepted.

    >>> to_int(7, 0, 10), to_int(3.0, 0, 10), to_int(" 12 ", 0, 99)
    (7, 3, 12)
    >>> to_int(2**31, -(2**31), 2**31 - 1)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: integer_out_of_range: 2147483648 outside [-2147483648, 2147483647]
    >>> to_int("abc", 0, 9)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: not_integer: 'abc' is not an integer
    """
    t = type(v)
    if t is int:
        n = v
    elif t is float:
        if not v.is_integer():
            raise Reject("not_integer", f"{v!r} has a fraction")
        n = int(v)
    elif t is str and _INT_RE.match(v):
        n = int(v)
    else:
        raise Reject("not_integer", f"{_show(v)} is not an integer")
    if n < lo or n > hi:
        raise Reject("integer_out_of_range", f"{n} outside [{lo}, {hi}]")
    return n


def to_float8(v: Any) -> float:
    """A double precision value; integers beyond 2**53 that would round are rejected.

    >>> to_float8(0.1), to_float8(16777217), to_float8("2.5e3")
    (0.1, 16777217.0, 2500.0)
    >>> to_float8(2**53 + 1)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: precision_loss: 9007199254740993 is not exact as double precision
    """
    t = type(v)
    if t is float:
        return v
    if t is int:
        f = float(v)
        if abs(v) > 2**53 and int(f) != v:
            raise Reject("precision_loss", f"{v} is not exact as double precision")
        return f
    if t is str and _NUM_RE.match(v):
        return float(v)
    raise Reject("not_number", f"{_show(v)} is not a number")


def to_float4(v: Any) -> float:
    """A 4-byte real, only when the value survives the narrowing unchanged.

    >>> to_float4(0.5)
    0.5
    >>> to_float4(16777217)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: precision_loss: 16777217.0 is not exact as real (float4); use double precision
    >>> to_float4(1e40)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: float4_out_of_range: 1e+40 is out of range for real (float4)
    """
    f = to_float8(v)
    if not math.isfinite(f):
        return f
    r = _float4_of(f)
    if math.isinf(r) or (r == 0 and f != 0):  # the same reason with or without accept_float4_rounding
        raise Reject("float4_out_of_range", f"{f!r} is out of range for real (float4)")
    if r != f:
        raise Reject("precision_loss", f"{f!r} is not exact as real (float4); use double precision")
    return f


def to_float4_rounded(v: Any) -> float:
    """A 4-byte real rounded as PostgreSQL stores it (``accept_float4_rounding``); out of its range is rejected.

    >>> to_float4_rounded(0.05), to_float4_rounded(16777217)
    (0.05000000074505806, 16777216.0)
    >>> to_float4_rounded(1e39)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: float4_out_of_range: 1e+39 is out of range for real (float4)
    """
    f = to_float8(v)
    if not math.isfinite(f):
        return f
    r = _float4_of(f)
    if math.isinf(r) or (r == 0 and f != 0):
        raise Reject("float4_out_of_range", f"{f!r} is out of range for real (float4)")
    return r


def _float4_of(f: float) -> float:
    """``f`` narrowed to a 4-byte real (infinite when it overflows), as a double."""
    try:
        return struct.unpack("f", struct.pack("f", f))[0]
    except OverflowError:  # struct refuses what rounds past FLT_MAX
        return math.copysign(math.inf, f)


def to_decimal(v: Any, precision: int | None, scale: int | None) -> Decimal:
    """An exact Decimal that fits numeric(precision, scale) without rounding.

    >>> to_decimal("12345678901234567890.123456789", None, None)
    Decimal('12345678901234567890.123456789')
    >>> to_decimal(0.1, 5, 2), to_decimal(7, None, None)
    (Decimal('0.1'), Decimal('7'))
    >>> to_decimal("1.005", 5, 2)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: numeric_rounding: 1.005 has more than 2 decimals
    >>> to_decimal("1.500", 5, 2), to_decimal("0.000", 5, 2)
    (Decimal('1.500'), Decimal('0.000'))
    >>> to_decimal("111489364390084745378383064003.614", 12, 2)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: numeric_rounding: 111489364390084745378383064003.614 has more than 2 decimals
    """
    t = type(v)
    try:
        if t is int:
            d = Decimal(v)
        elif t is float:
            d = Decimal(repr(v))
        elif t is str and (_NUM_RE.match(v) or v.strip() in ("NaN", "Infinity", "-Infinity")):
            d = Decimal(v.strip())
        else:
            raise Reject("not_number", f"{_show(v)} is not a number")
    except InvalidOperation:
        raise Reject("not_number", f"{_show(v)} is not a number") from None
    if precision is not None and d.is_finite():
        _, digits, exp = d.as_tuple()
        assert isinstance(exp, int)
        # a nonzero digit beyond the scale would be rounded away; read from the digits, not d.quantize(), which
        # raises InvalidOperation past the context's 28 digits (a 30-digit text into numeric(12,2) ended the copy)
        if scale is not None and -exp > scale and any(digits[exp + scale:] if exp + scale < 0 else ()):
            raise Reject("numeric_rounding", f"{d} has more than {scale} decimals")
        if d.adjusted() + 1 > precision - (scale or 0):
            raise Reject("numeric_overflow", f"{d} does not fit numeric({precision},{scale})")
    return d


def to_bool(v: Any) -> bool:
    """Booleans from 0/1 and 't'/'f'/'true'/'false' (any case).

    >>> to_bool(1), to_bool(0), to_bool("t"), to_bool("FALSE"), to_bool("1")
    (True, False, True, False, True)
    >>> to_bool(2)
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: not_boolean: 2 is not 0/1/t/f/true/false
    """
    t = type(v)
    if (t is int or t is float) and v in (0, 1):
        return bool(v)
    if t is str:
        b = _BOOL_TEXT.get(v.strip().lower())
        if b is not None:
            return b
    raise Reject("not_boolean", f"{_show(v)} is not 0/1/t/f/true/false")


# --- time ---------------------------------------------------------------------


def parse_moment(v: Any, epoch_unit: str) -> dt.datetime:
    """A datetime from ISO-8601 text or an epoch number; naive when the text has no zone.

    >>> parse_moment("2024-03-01T10:00:00Z", "s")
    datetime.datetime(2024, 3, 1, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_moment("2024-03-01 19:00:00+09:00", "s").isoformat()
    '2024-03-01T19:00:00+09:00'
    >>> parse_moment("2024-03-01", "s")
    datetime.datetime(2024, 3, 1, 0, 0)
    >>> parse_moment(1709287200, "s"), parse_moment(1709287200000, "ms") == parse_moment(1709287200, "s")
    (datetime.datetime(2024, 3, 1, 10, 0, tzinfo=datetime.timezone.utc), True)
    >>> parse_moment(1700000001, "mixed").year, parse_moment(1700000001000, "mixed").year
    (2023, 2023)
    >>> parse_moment("2024-02-30T00:00:00", "s")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: invalid_timestamp: '2024-02-30T00:00:00' is not a valid ISO-8601 date/time: day is out of range for month
    """
    t = type(v)
    if t is str:
        try:
            return dt.datetime.fromisoformat(v)
        except ValueError:
            if not _EPOCH_RE.match(v):
                v = v.strip()
        if _EPOCH_RE.match(v):
            v = float(v) if "." in v else int(v)
            t = type(v)
    if t is int or t is float:
        if epoch_unit == "mixed":  # each number by its own magnitude (see the module's rules)
            epoch_unit = "ms" if abs(v) >= MS_THRESHOLD else "s"
        try:
            if epoch_unit == "ms":
                return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=v)
            return dt.datetime(1970, 1, 1, tzinfo=UTC) + dt.timedelta(seconds=v)
        except (OverflowError, ValueError):
            raise Reject("invalid_timestamp", f"epoch {v!r} is out of range") from None
    if t is not str:
        raise Reject("invalid_timestamp", f"{_show(v)} is not a date/time")
    try:
        return dt.datetime.fromisoformat(v.strip())
    except ValueError as exc:
        raise Reject("invalid_timestamp", f"{_show(v)} is not a valid ISO-8601 date/time: {exc}") from None


def to_timestamptz(v: Any, epoch_unit: str = "s") -> dt.datetime:
    """An aware datetime; naive input is UTC.

    >>> to_timestamptz("2024-03-01T10:00:00").isoformat()
    '2024-03-01T10:00:00+00:00'
    """
    d = parse_moment(v, epoch_unit)
    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)


def to_timestamp(v: Any, epoch_unit: str = "s") -> dt.datetime:
    """A naive datetime; aware input is converted to UTC first.

    >>> to_timestamp("2024-03-01T19:00:00+09:00")
    datetime.datetime(2024, 3, 1, 10, 0)
    >>> to_timestamp("0001-01-01T00:00:00+09:00")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: invalid_timestamp: '0001-01-01T00:00:00+09:00' is out of range in UTC
    """
    d = parse_moment(v, epoch_unit)
    try:
        return d if d.tzinfo is None else d.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 east of Greenwich is year 0 in UTC: reject, do not crash the range
        raise Reject("invalid_timestamp", f"{_show(v)} is out of range in UTC") from None


def to_date(v: Any, epoch_unit: str = "s") -> dt.date:
    """A date; a timestamp is accepted only at midnight (no time silently dropped).

    >>> to_date("2024-03-01"), to_date("2024-03-01T00:00:00")
    (datetime.date(2024, 3, 1), datetime.date(2024, 3, 1))
    >>> to_date("2024-03-01T10:30:00")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: timestamp_not_date: '2024-03-01T10:30:00' has a time of day
    """
    d = parse_moment(v, epoch_unit)
    if d.time() != dt.time(0) or (d.tzinfo is not None and d.utcoffset()):
        raise Reject("timestamp_not_date", f"{_show(v)} has a time of day")
    return d.date()


# --- json, uuid, bytes ---------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON = json.JSONDecoder(parse_constant=_no_constant)


def _has_nul(obj: Any) -> bool:
    if isinstance(obj, str):
        return "\x00" in obj
    if isinstance(obj, dict):
        return any(_has_nul(k) or _has_nul(x) for k, x in obj.items())
    if isinstance(obj, list):
        return any(_has_nul(x) for x in obj)
    return False


def to_json_text(v: Any, jsonb: bool, policy: str, notes: Notes) -> str:
    """The JSON text itself, validated as PostgreSQL would (no NaN; no \\u0000 in jsonb).

    >>> to_json_text('{"a": [1, "日本"]}', True, "reject", [])
    '{"a": [1, "日本"]}'
    >>> to_json_text('{"a": 1', True, "reject", [])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: invalid_json: Expecting ',' delimiter: line 1 column 8 (char 7)
    >>> to_json_text('{"a": "x\\\\u0000"}', True, "reject", [])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: json_nul: \\u0000 is not allowed in jsonb
    >>> to_json_text(12, True, "reject", [])
    '12'
    """
    if type(v) is float and not math.isfinite(v):
        raise Reject("invalid_json", f"{v!r} is not JSON")
    s = text_of(v, policy, notes)
    try:
        obj = _JSON.decode(s)
    except ValueError as exc:
        raise Reject("invalid_json", str(exc)) from None
    if jsonb and "\\u0000" in s and _has_nul(obj):
        raise Reject("json_nul", "\\u0000 is not allowed in jsonb")
    return s


def to_uuid(v: Any) -> uuid.UUID:
    """A UUID from its text forms or a 16-byte BLOB.

    >>> to_uuid("{12345678-1234-5678-1234-567812345678}")
    UUID('12345678-1234-5678-1234-567812345678')
    >>> to_uuid("nope")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: invalid_uuid: 'nope' is not a UUID
    """
    try:
        if type(v) is str:
            return uuid.UUID(v.strip())
        if type(v) is bytes and len(v) == 16:
            return uuid.UUID(bytes=v)
    except ValueError:
        pass
    raise Reject("invalid_uuid", f"{_show(v)} is not a UUID")


def to_bytea(v: Any) -> bytes:
    """Bytes: BLOBs as they are, text as its stored bytes.

    >>> to_bytea(b"\\x00\\x01"), to_bytea("é"), to_bytea(BadUtf8(b"\\xff"))
    (b'\\x00\\x01', b'\\xc3\\xa9', b'\\xff')
    """
    if isinstance(v, bytes):
        return bytes(v)
    if type(v) is str:
        return v.encode()
    raise Reject("not_binary", f"{_show(v)} is a number, not binary data")


def _show(v: Any) -> str:
    if isinstance(v, bytes):
        return f"x'{bytes(v)[:40].hex()}'"
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


# --- building a converter per target column --------------------------------------


def converter(target: TargetType, *, epoch_unit: str = "s", text_policy: str = "reject", notes: Notes,
              accept_float4_rounding: bool = False) -> Converter:
    """The function turning one SQLite value into what COPY sends for ``target``.

    NULL is handled by the caller. ``notes`` collects ``replaced`` warnings.
    ``accept_float4_rounding`` sends values a ``real`` cannot hold exactly rounded, instead of rejecting them.

    >>> converter(TargetType("int4"), notes=[])("41")
    41
    >>> converter(TargetType("varchar", length=2), notes=[])("abc")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.typemap.Reject: too_long: 3 characters exceed varchar(2)
    """
    name = target.name
    if name in _INT_BOUNDS:
        lo, hi = _INT_BOUNDS[name]

        def conv_int(v: Any) -> int:
            if type(v) is int and lo <= v <= hi:
                return v
            return to_int(v, lo, hi)

        return conv_int
    if name == "float8":
        return lambda v: v if type(v) is float else to_float8(v)
    if name == "float4":
        return to_float4_rounded if accept_float4_rounding else to_float4
    if name == "numeric":
        return lambda v: to_decimal(v, target.precision, target.scale)
    if name == "bool":
        return to_bool
    if name == "timestamptz":

        def conv_tstz(v: Any) -> dt.datetime:
            if type(v) is str:
                try:
                    d = dt.datetime.fromisoformat(v)
                    return d if d.tzinfo is not None else d.replace(tzinfo=UTC)
                except ValueError:
                    pass
            return to_timestamptz(v, epoch_unit)

        return conv_tstz
    if name == "timestamp":
        return lambda v: to_timestamp(v, epoch_unit)
    if name == "date":
        return lambda v: to_date(v, epoch_unit)
    if name in ("json", "jsonb"):
        jsonb = name == "jsonb"
        return lambda v: to_json_text(v, jsonb, text_policy, notes)
    if name == "uuid":
        return to_uuid
    if name == "bytea":
        return to_bytea
    if target.length is not None:
        n = target.length

        def conv_bounded(v: Any) -> str:
            s = text_of(v, text_policy, notes)
            if len(s) > n:
                raise Reject("too_long", f"{len(s)} characters exceed {name if name != 'bpchar' else 'char'}({n})")
            return s

        return conv_bounded

    def conv_text(v: Any) -> str:
        if type(v) is str and "\x00" not in v:
            return v
        return text_of(v, text_policy, notes)

    return conv_text


def pg_type_for(decl_type: str) -> str:
    """The PostgreSQL type a table created from the SQLite schema gets (SQLite affinity rules, widened).

    A declared length, precision and scale are kept: the DBA wrote them, and a
    value that does not fit is rejected by name rather than widened in silence.
    CHAR(n) becomes varchar(n), not character(n), which would pad the values
    with spaces. INTEGER becomes bigint (SQLite integers are 64-bit) and REAL
    double precision. A modifier PostgreSQL cannot take leaves the type unconstrained.

    >>> [pg_type_for(t) for t in ("INTEGER", "VARCHAR(20)", "FLOAT", "NUMERIC(10,2)", "DATETIME", "BOOLEAN", "JSON", "BLOB", "")]
    ['bigint', 'varchar(20)', 'double precision', 'numeric(10,2)', 'timestamp with time zone', 'boolean', 'jsonb', 'bytea', 'text']
    >>> [pg_type_for(t) for t in ("DECIMAL(5)", "nvarchar( 40 )", "CHARACTER(3)", "TEXT(10)", "NUMERIC(2000,1)", "NUMERIC(4,6)")]
    ['numeric(5)', 'varchar(40)', 'varchar(3)', 'text', 'numeric', 'numeric']
    """
    t = decl_type.upper()
    rules = (
        ("BOOL", "boolean"), ("TIMESTAMP", "timestamp with time zone"), ("DATETIME", "timestamp with time zone"),
        ("DATE", "date"), ("JSON", "jsonb"), ("UUID", "uuid"), ("INT", "bigint"), ("CHAR", "varchar"),
        ("CLOB", "text"), ("TEXT", "text"), ("BLOB", "bytea"), ("REAL", "double precision"),
        ("FLOA", "double precision"), ("DOUB", "double precision"), ("NUMERIC", "numeric"), ("DECIMAL", "numeric"),
    )
    base = next((pg for key, pg in rules if key in t), "text")
    m = _TYPE_MODIFIERS.search(t)
    if base == "varchar":
        return f"varchar({int(m.group(1))})" if m and m.group(2) is None and 0 < int(m.group(1)) <= 10_485_760 else "text"
    if base == "numeric" and m:
        p, s = int(m.group(1)), int(m.group(2) or 0)
        if 1 <= p <= 1000 and 0 <= s <= p:
            return f"numeric({p},{s})" if m.group(2) is not None else f"numeric({p})"
    return base


_TYPE_MODIFIERS = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")
