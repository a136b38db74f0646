"""The pre-flight report: what a copy would meet, before anything is written.

SQLite does not enforce declared types or foreign keys by default, so the
report measures what is actually there: storage classes per column, NULLs
the target will refuse, orphans, and what cannot be copied at all.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from migrations_ops.target import TargetConn, connect

from . import catalog, fts, source
from . import skipped as skip_mod
from .skipped import SkippedObject


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
    not_copied: tuple[SkippedObject, ...] = ()
    fts_tables: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Contentful FTS tables the copy loads into regular tables: ``(name, DDL it runs when the table is missing)``."""

    @property
    def mapping(self) -> tuple[tuple[str, str | None], ...]:
        """``(source table, target table or None)`` by the one name rule (a contentful FTS table's is created)."""
        created = dict(self.fts_tables)
        return tuple((t.name, t.target_table or (t.name if t.name in created else None)) for t in self.tables)

    @property
    def integrity_ok(self) -> bool:
        return self.integrity == ("ok",)

    def table(self, name: str) -> TablePreflight:
        return next(t for t in self.tables if t.name == name)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["integrity_ok"] = self.integrity_ok
        d["mapping"] = [list(m) for m in self.mapping]
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def preflight(
    sqlite_path: str | Path, target: TargetConn, tables: list[str] | tuple[str, ...] | None = None,
    schema: str = "public", *, skip_tables: tuple[str, ...] | list[str] = (), fts_contentful: str = "copy",
    fts_regconfig: str = "simple",
) -> PreflightReport:
    """Inspect a SQLite file and the target's tables for a copy; writes nothing anywhere.

    :param tables: source tables to look at (default: every table that would be copied).
    :param schema: target schema holding the tables.
    :param skip_tables, fts_contentful, fts_regconfig: as in ``CopyOptions``; what is left behind is listed
        in ``not_copied`` with rows and advice, and the source -> target pairs in ``mapping``.
    """
    src = source.open_source(sqlite_path)
    try:
        listed = source.list_tables(src)
        all_tables = {t.name: t for t in listed}
        names = skip_mod.select_tables(listed, tables or None, skip_tables)
        skipped = tuple((n, t.skip_reason) for n, t in all_tables.items() if t.skip_reason)
        integrity = tuple(source.integrity_check(src))
        orphans = tuple(o for o in source.foreign_key_orphans(src) if o["table"] in names)
        with connect(target, "mop:copy:preflight") as conn:
            found = catalog.find_tables(conn, schema, names)
            reports = [_table(src, conn, all_tables[n], found[n]) for n in names]
            not_copied = skip_mod.skipped_objects(src, listed, names, skip_tables, schema=schema, regconfig=fts_regconfig,
                                                  target_tables=catalog.schema_columns(conn, schema))
            problems = fts.regconfig_problems(conn, [all_tables[n] for n in names], fts_regconfig)
    finally:
        src.close()
    new_fts = {r.name: fts.contentful_ddl(all_tables[r.name].fts, schema, fts_regconfig)  # type: ignore[arg-type]
               for r in reports if all_tables[r.name].fts is not None}
    problems += [f"target table {schema}.{r.name} does not exist" for r in reports
                 if r.target_table is None and r.name not in new_fts]
    problems += skip_mod.contentful_fts_problems(listed, names, fts_contentful)
    problems += [f"source column {r.name}.{c} has no target column" for r in reports for c in r.source_only_columns
                 if r.target_table is not None]
    problems += [f"{r.name}.{c}: {n} NULLs, target column is NOT NULL (rows will be rejected)"
                 for r in reports for c, n in r.nulls_in_not_null.items()]
    if not integrity == ("ok",):
        problems.append("PRAGMA integrity_check reports damage: " + "; ".join(integrity[:5]))
    return PreflightReport(str(sqlite_path), target.redacted(), integrity, tuple(reports), skipped, orphans,
                           tuple(problems), not_copied, tuple(new_fts.items()))


def _table(src: Any, conn: Any, st: source.SourceTable, tt: catalog.TargetTable | None) -> TablePreflight:
    profile = source.storage_profile(src, st)
    rows = source.count_rows(src, st.name)
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
    return TablePreflight(st.name, rows, tt.name, profile, types, nulls, tuple(src_only), tgt_only)
