"""Safety findings a DBA reads: one entry per rule, with a count and the table.column objects it concerns.

The example plan's first upgrade gives squawk nine ``prefer-timestamp-tz``,
six ``prefer-bigint-over-int`` and four ``prefer-identity`` paragraphs, all on
tables the plan creates: those are style, folded as info. Entries that touch
a table the risk assessment rated moderate or worse, or that are danger,
lead ("decisive"). Squawk points at a line and column of the plan's SQL; the
parse tree of the statement there names the table and the column.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pglast import parse_sql
from pglast.parser import ParseError

from .locks import VERSION_TABLES, statement_locks

# Type and robustness preferences: advice for a new table, no risk to a running one.
STYLE_RULES = frozenset({
    "prefer-timestamp-tz", "prefer-bigint-over-int", "prefer-bigint-over-smallint", "prefer-big-int",
    "prefer-identity", "prefer-text-field", "ban-char-field", "prefer-robust-stmts",
})
_LEVEL_ORDER = {"danger": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """All findings of one rule: how many, on what, and whether they decide the risk or are style only."""

    rule: str
    level: str
    count: int
    objects: tuple[str, ...]
    message: str
    help: str
    source: str
    revisions: tuple[str, ...]
    statements: tuple[str, ...]
    decisive: bool = False
    style_only: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Spans:
    """Statement and column-definition spans of a plan's SQL, to name what a line/column points at."""

    def __init__(self, sql_text: str) -> None:
        data = sql_text.encode("utf-8")
        self.line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]
        self.stmts: list[tuple[int, int, str, list[tuple[int, str]]]] = []
        try:
            parsed = parse_sql(sql_text)
        except ParseError:
            return
        for raw in parsed:
            tables = [row[0] for row in statement_locks(raw.stmt)]
            if not tables:
                continue
            cols = sorted((c.location, c.colname) for c in _column_defs(raw.stmt))
            self.stmts.append((raw.stmt_location, raw.stmt_location + (raw.stmt_len or 10**9), tables[0], cols))

    def at(self, line: int, column: int) -> str | None:
        if line >= len(self.line_starts):
            return None
        offset = self.line_starts[line] + column
        for start, end, table, cols in self.stmts:
            if start <= offset <= end:
                i = bisect.bisect_right([c[0] for c in cols], offset) - 1
                return f"{table}.{cols[i][1]}" if i >= 0 else table
        return None


def _column_defs(stmt: Any) -> list[Any]:
    kind = type(stmt).__name__
    if kind == "CreateStmt":
        return [e for e in stmt.tableElts or () if type(e).__name__ == "ColumnDef"]
    if kind == "AlterTableStmt":
        return [c.def_ for c in stmt.cmds or () if type(getattr(c, "def_", None)).__name__ == "ColumnDef"]
    return []


def _object_of_statement(statement: str) -> str | None:
    try:
        parsed = parse_sql(statement)
    except ParseError:
        return None
    for raw in parsed:
        for table, _lock, _work, _what, column in statement_locks(raw.stmt):
            return f"{table}.{column}" if column else table
    return None


def group_findings(
    findings: Iterable[Mapping[str, Any]],
    sql_text: str,
    *,
    created_tables: Iterable[str] = (),
    hot_tables: Iterable[str] = (),
) -> tuple[FindingGroup, ...]:
    """Group findings by rule, name their objects, fold style on new tables, and put the decisive ones first.

    :param findings: the plan's safety findings (their JSON, ``line``/``column`` for squawk's).
    :param sql_text: the plan's SQL the findings point into.
    :param created_tables: tables the plan creates (style rules on them are info).
    :param hot_tables: tables the risk assessment rated moderate or worse.
    """
    spans = _Spans(sql_text)
    created, hot = set(created_tables) | VERSION_TABLES, set(hot_tables)
    by_rule: dict[str, list[tuple[Mapping[str, Any], str | None]]] = {}
    for f in findings:
        obj = None
        if f.get("line") is not None:
            obj = spans.at(int(f["line"]), int(f.get("column") or 0))
        elif f.get("statement"):
            obj = _object_of_statement(f["statement"])
        by_rule.setdefault(str(f.get("rule")), []).append((f, obj))
    groups = [_group(rule, items, created, hot) for rule, items in by_rule.items()]
    return tuple(sorted(groups, key=lambda g: (not g.decisive, g.style_only, _LEVEL_ORDER.get(g.level, 3), -g.count)))


def _group(rule: str, items: list[tuple[Mapping[str, Any], str | None]], created: set[str], hot: set[str]
           ) -> FindingGroup:
    first = items[0][0]
    objects = tuple(dict.fromkeys(o for _, o in items if o))
    tables = {o.split(".")[0] if o.count(".") <= 1 else ".".join(o.split(".")[:2]) for o in objects}
    style = rule in STYLE_RULES and bool(objects) and tables <= created
    level = min((str(f.get("level")) for f, _ in items), key=lambda lv: _LEVEL_ORDER.get(lv, 3))
    if style:
        level = "info"
    decisive = not style and (level == "danger" or bool(tables & hot))
    return FindingGroup(
        rule=rule, level=level, count=len(items), objects=objects, message=str(first.get("message") or ""),
        help=str(first.get("help") or ""), source=str(first.get("source") or "portal"),
        revisions=tuple(dict.fromkeys(str(f["revision"]) for f, _ in items if f.get("revision"))),
        statements=tuple(dict.fromkeys(str(f["statement"]) for f, _ in items if f.get("statement")))[:3],
        decisive=decisive, style_only=style,
    )
