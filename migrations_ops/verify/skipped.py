"""What the verification cannot compare because the copy does not carry it.

The report lists the same objects the copy's pre-flight and summary list
(``migrations_ops.copy.skipped``: views, triggers, internal, virtual and
shadow tables, FTS indexes), as "skipped" with their row counts. A
contentful FTS table is the one kind whose rows exist nowhere else: when the
target has no table for it (the copy skipped it), the verdict cannot be a
silent PASS, so it gets a WARN naming the rows not copied; when the copy
loaded it, its row counts are compared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from psycopg import sql

from migrations_ops.copy import source
from migrations_ops.copy.fts import CONTENTFUL
from migrations_ops.copy.skipped import skipped_objects
from migrations_ops.names import match_name

from .checks import PgCtx
from .report import FAIL, PASS, WARN, Finding
from .schema import PgTable


def skipped_and_findings(lite: sqlite3.Connection, ctx: PgCtx, target_tables: Mapping[str, PgTable],
                         ) -> tuple[tuple[dict[str, Any], ...], list[Finding]]:
    """The source objects not copied (as dicts for the report) and findings for contentful FTS tables.

    :param target_tables: the target schema's tables (the one name rule pairs FTS tables with them).
    """
    targets = {name: [c.name for c in t.columns] for name, t in target_tables.items()}
    listed = source.list_tables(lite)
    contentful = {t.name: match_name(t.name, targets) for t in listed if t.fts is not None and t.fts.kind == CONTENTFUL}
    copied = {t.name for t in listed if t.skip_reason is None and t.fts is None} | {
        n for n, tgt in contentful.items() if tgt is not None}
    objects = skipped_objects(lite, listed, copied, (n for n, tgt in contentful.items() if tgt is None),
                              schema=ctx.schema, target_tables=targets)
    findings = [_fts_finding(lite, ctx, name, tgt) for name, tgt in contentful.items()]
    return tuple(o.to_dict() for o in objects), findings


def _fts_finding(lite: sqlite3.Connection, ctx: PgCtx, name: str, target: str | None) -> Finding:
    """A contentful FTS table: WARN when it was not copied (rows named), else its row counts compared."""
    rows = source.count_rows(lite, name)
    if target is None:
        return Finding("skipped", WARN if rows else PASS, f"contentful FTS table {name} was not copied: its {rows} "
                       "row(s) exist only in the source", name, (), {"source": rows, "not_copied": rows})
    stmt = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(ctx.schema, target))
    got = int(ctx.run(stmt, None, name, "fts row count")[0][0])
    status = PASS if got == rows else FAIL
    return Finding("fts", status, f"contentful FTS table {name} copied into {target}: {rows} source row(s), "
                   f"{got} in the target", name, (), {"source": rows, "target": got})
