"""What the verification cannot compare because the copy does not carry it.

The report lists the same objects the copy's pre-flight and summary list
(``migrations_ops.copy.skipped``: views, triggers, internal, virtual and
shadow tables, FTS indexes), as "skipped" with their row counts. A
contentful FTS table is the one kind whose rows exist nowhere else: when the
target has no table for it (the copy skipped it), the verdict cannot be a
silent PASS, so it gets a WARN naming the rows not copied; when the copy
loaded it, its rows are compared like any other table's (``run._sqlite_tables``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from migrations_ops.copy import source
from migrations_ops.copy.fts import CONTENTFUL
from migrations_ops.copy.skipped import skipped_objects
from migrations_ops.names import match_name

from .checks import PgCtx
from .report import PASS, WARN, Finding
from .schema import PgTable


def skipped_and_findings(lite: sqlite3.Connection, ctx: PgCtx, target_tables: Mapping[str, PgTable],
                         ) -> tuple[tuple[dict[str, Any], ...], list[Finding]]:
    """The source objects not copied (as dicts for the report) and a WARN for each contentful FTS table the
    target has no table for (a copied one is compared row by row with the other tables).

    :param target_tables: the target schema's tables (the one name rule pairs FTS tables with them).
    """
    targets = {name: [c.name for c in t.columns] for name, t in target_tables.items()}
    listed = source.list_tables(lite)
    contentful = {t.name: match_name(t.name, targets) for t in listed if t.fts is not None and t.fts.kind == CONTENTFUL}
    absent = [n for n, tgt in contentful.items() if tgt is None]
    copied = {t.name for t in listed if t.skip_reason is None and t.fts is None} | set(contentful) - set(absent)
    objects = skipped_objects(lite, listed, copied, absent=absent, schema=ctx.schema, target_tables=targets)
    findings = [_not_copied(lite, name) for name in absent]
    return tuple(o.to_dict() for o in objects), findings


def _not_copied(lite: sqlite3.Connection, name: str) -> Finding:
    """A contentful FTS table with no table in the target: its rows exist only in the source, a WARN naming them."""
    rows = source.count_rows(lite, name)
    return Finding("skipped", WARN if rows else PASS, f"contentful FTS table {name} was not copied: its {rows} "
                   "row(s) exist only in the source", name, (), {"source": rows, "not_copied": rows})
