"""The pre-flight report: what a copy would meet, before anything is written.

SQLite does not enforce declared types or foreign keys by default, so the
report measures what is actually there: storage classes per column, NULLs
the target will refuse, orphans, and what cannot be copied at all.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from migrations_ops.target import TargetConn, connect

from . import catalog, source
from .errors import SchemaMismatch
from .options import CopyOptions
from .predict import TablePrediction, predict_table
from .ranges import _match_columns


@dataclass(frozen=True, slots=True)
class TablePreflight:
    """One source table against its target table."""

    name: str
    rows: int
    target_table: str | None
    storage_classes: dict[str, dict[str, int]]
    target_types: dict[str, str]
    nulls_in_not_null: dict[str, int]
    source_only_columns: tuple[str, ...]
    target_only_columns: tuple[str, ...]
    predicted: TablePrediction | None = None


@dataclass(frozen=True, slots=True)
class PreflightReport:
    """Everything the DBA should see before a copy; JSON-serialisable with ``to_dict()``."""

    sqlite_path: str
    target: str
    integrity: tuple[str, ...]
    tables: tuple[TablePreflight, ...]
    skipped: tuple[tuple[str, str], ...]
    fk_orphans: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]

    @property
    def integrity_ok(self) -> bool:
        return self.integrity == ("ok",)

    def table(self, name: str) -> TablePreflight:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["integrity_ok"] = self.integrity_ok
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def preflight(
    sqlite_path: str | Path, target: TargetConn, tables: list[str] | tuple[str, ...] | None = None,
    schema: str = "public", options: CopyOptions | None = None,
) -> PreflightReport:
    """Inspect a SQLite file and the target's tables for a copy; writes nothing anywhere.

    :param tables: source tables to look at (default: every table that would be copied).
    :param schema: target schema holding the tables.
    :param options: the copy's options; the predicted rejects follow its text policy and float4 rounding.
    """
    src = source.open_source(sqlite_path)
    try:
        all_tables = {t.name: t for t in source.list_tables(src)}
        unknown = [n for n in tables or () if n not in all_tables]
        if unknown:
            raise SchemaMismatch([f"source table {n!r} does not exist" for n in unknown])
        names = list(tables) if tables else [n for n, t in all_tables.items() if t.skip_reason is None]
        skipped = tuple((n, t.skip_reason) for n, t in all_tables.items() if t.skip_reason)
        with ThreadPoolExecutor(1) as pool:  # SQLite's whole-file checks beside the column scans, on two cores
            checks = pool.submit(_file_checks, sqlite_path)
            with connect(target, "mop:copy:preflight") as conn:
                reports = [_table(src, conn, all_tables[n], schema, options, sqlite_path) for n in names]
            integrity, all_orphans = checks.result()
        orphans = tuple(o for o in all_orphans if o["table"] in names)
    finally:
        src.close()
    problems = [f"target table {schema}.{r.name} does not exist" for r in reports if r.target_table is None]
    problems += [f"source column {r.name}.{c} has no target column" for r in reports for c in r.source_only_columns
                 if r.target_table is not None]
    problems += [f"{r.name}.{c}: {n} NULLs, target column is NOT NULL (rows will be rejected)"
                 for r in reports for c, n in r.nulls_in_not_null.items()]
    problems += [f"{r.name}.{p.column}: {p.values} value(s) will be rejected ({p.code}), e.g. {p.example_key}: "
                 f"{p.example_reason}" for r in reports if r.predicted for p in r.predicted.rejects
                 if p.code != "null_in_not_null"]
    if not integrity == ("ok",):
        problems.append("PRAGMA integrity_check reports damage: " + "; ".join(integrity[:5]))
    return PreflightReport(str(sqlite_path), target.redacted(), integrity, tuple(reports), skipped, orphans,
                           tuple(problems))


def _file_checks(path: str | Path) -> tuple[tuple[str, ...], list[dict[str, Any]]]:
    """``PRAGMA integrity_check`` and the foreign-key orphans, on a connection of their own (another thread)."""
    src = source.open_source(path)
    try:
        return tuple(source.integrity_check(src)), source.foreign_key_orphans(src)
    finally:
        src.close()


def _table(src: Any, conn: Any, st: source.SourceTable, schema: str, options: CopyOptions | None,
           path: str | Path) -> TablePreflight:
    profile = source.storage_profile(src, st)
    rows = source.count_rows(src, st.name)
    tt = catalog.find_table(conn, schema, st.name)
    if tt is None:
        return TablePreflight(st.name, rows, None, profile, {}, {}, (), ())
    types, nulls, src_only = {}, {}, []
    for c in st.columns:
        tc = tt.column(c.name)
        if tc is None or tc.generated:
            src_only.append(c.name)
            continue
        types[c.name] = tc.shown
        if tc.type.not_null and profile.get(c.name, {}).get("null"):
            nulls[c.name] = profile[c.name]["null"]
    src_names = {c.name.lower() for c in st.columns}
    tgt_only = tuple(c.name for c in tt.columns if c.name.lower() not in src_names)
    predicted = predict_table(src, st, _match_columns(src, st, tt)[0], options, path)
    return TablePreflight(st.name, rows, tt.name, profile, types, nulls, tuple(src_only), tgt_only, predicted)
