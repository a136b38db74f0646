"""Options of a copy run and the unit of work (a key range), both JSON-serialisable for Celery."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .typemap import TargetType

TEXT_POLICIES = ("reject", "replace")
IF_NOT_EMPTY = ("refuse", "truncate", "append", "append_duplicates")
FTS_CONTENTFUL_MODES = ("copy", "refuse")


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """How to copy.

    :param tables: source tables to copy (default: every table not skipped).
    :param schema: target schema holding the tables.
    :param create_missing_tables: create absent target tables from the SQLite schema with mapped types.
    :param allow_missing_columns: copy even if a source column has no target column (its data is not copied).
    :param text_policy: ``reject`` rows with NUL / invalid UTF-8, or ``replace`` by U+FFFD and report.
    :param accept_float4_rounding: load values a ``real`` (float4) column cannot hold exactly rounded as
        PostgreSQL stores them, instead of rejecting them (``precision_loss``); audited with the run.
    :param max_rejects: stop the copy once more rows than this are rejected (None: never).
    :param drop_secondary_indexes: drop plain indexes of empty target tables during the load, rebuild after.
    :param defer_constraints: also drop the PRIMARY KEY and UNIQUE constraints of empty target tables
        during the load (plain indexes too) and build them again after, each index on its own
        connection. Rows the keys would have refused one by one (duplicates) then make
        ``finish_copy`` fail with ``ConstraintsNotRestored`` instead of becoming rejects. A
        constraint that foreign keys of tables outside the copy depend on is kept.
    :param defer_source_keys: on empty target tables, drop plain indexes and the PRIMARY KEY / UNIQUE
        constraints whose columns the SQLite source keeps unique too, and build them after the load (the
        default: it rejects nothing the keys would have rejected row by row; ``keysafe``).
    :param index_workers: connections building indexes at once in ``finish_copy``.
    :param maintenance_work_mem: ``maintenance_work_mem`` of those connections (sorts stay in memory).
    :param batch_rows: rows read and converted at a time (bounds memory).
    :param range_rows: rows per key range (one range = one target transaction = one task).
    :param workers: ranges copied at once by ``copy_database`` (processes).
    :param if_not_empty: what to do with target tables that already hold rows: ``refuse`` the copy
        (default), ``truncate`` them in the planning transaction, or ``append`` (duplicates become rejects;
        refused for a target table with no unique index, where nothing could reject them), or
        ``append_duplicates``: append, acknowledging that such keyless tables get their rows duplicated.
    :param skip_tables: source tables the DBA chose not to copy; listed, with their rows, as not copied.
    :param fts_contentful: ``copy`` a contentful FTS table (its rows exist nowhere else) into a regular
        table with a generated tsvector and a GIN index, created when missing; or ``refuse`` to start
        until each one is named in ``skip_tables``.
    :param fts_regconfig: text search configuration of those tsvector columns (``simple``, ``english``...).
    """

    tables: tuple[str, ...] | None = None
    schema: str = "public"
    create_missing_tables: bool = False
    allow_missing_columns: bool = False
    text_policy: str = "reject"
    max_rejects: int | None = None
    drop_secondary_indexes: bool = False
    batch_rows: int = 5000
    range_rows: int = 250_000
    workers: int = 1
    defer_constraints: bool = False
    defer_source_keys: bool = True
    index_workers: int = 2
    maintenance_work_mem: str = "256MB"
    if_not_empty: str = "refuse"
    skip_tables: tuple[str, ...] = ()
    fts_contentful: str = "copy"
    fts_regconfig: str = "simple"
    accept_float4_rounding: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tables"] = list(self.tables) if self.tables is not None else None
        d["skip_tables"] = list(self.skip_tables)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CopyOptions:
        """Read ``to_dict()`` output; keys missing (older runs) take their defaults."""
        d = dict(d)
        if d.get("tables") is not None:
            d["tables"] = tuple(d["tables"])
        d["skip_tables"] = tuple(d.get("skip_tables") or ())
        return cls(**d)


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """One copied column: source name, target name and type, epoch unit for timestamp targets."""

    source: str
    target: str
    type: TargetType
    epoch_unit: str = "s"


@dataclass(frozen=True, slots=True)
class RangeSpec:
    """One unit of work: rows ``lo <= key <= hi`` of one table (keys are SQLite rowids)."""

    copy_id: str
    table: str
    schema: str
    target_table: str
    key: str | None
    pk_columns: tuple[str, ...]
    columns: tuple[ColumnPlan, ...] = field(default=())
    lo: int = 0
    hi: int = 0
    est_rows: int = 0
    index: int = 0
    count: int = 1

    @property
    def binary(self) -> bool:
        return all(c.type.binary for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RangeSpec:
        d = dict(d)
        d["columns"] = tuple(
            ColumnPlan(c["source"], c["target"], TargetType(**c["type"]), c.get("epoch_unit", "s"))
            for c in d["columns"]
        )
        d["pk_columns"] = tuple(d["pk_columns"])
        return cls(**d)
