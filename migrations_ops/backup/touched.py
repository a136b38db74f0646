"""The tables a plan's SQL alters or writes, read from PostgreSQL's own parse tree (pglast)."""

from __future__ import annotations

import pglast
from pglast import ast, enums

from .errors import BackupFailed

_WRITES = (ast.AlterTableStmt, ast.UpdateStmt, ast.InsertStmt, ast.DeleteStmt, ast.IndexStmt, ast.RenameStmt,
           ast.CreateTrigStmt, ast.RuleStmt)


def _qualified(schema: str | None, name: str) -> str:
    return f"{schema or 'public'}.{name}"


def touched_tables(plan_sql: str) -> list[str]:
    """Schema-qualified tables the SQL alters, writes, truncates or drops (unqualified means public).

    >>> touched_tables("ALTER TABLE invoices ADD COLUMN x int; UPDATE s.t SET a = 1; "
    ...                "CREATE TABLE n (id int); DROP TABLE old; SELECT * FROM r;")
    ['public.invoices', 'public.old', 's.t']
    """
    try:
        statements = pglast.parse_sql(plan_sql)
    except pglast.parser.ParseError as exc:
        raise BackupFailed(f"the plan's SQL cannot be parsed to find the tables it touches ({exc}); "
                           "choose the schema or full backup scope") from None
    found: set[str] = set()
    for raw in statements:
        stmt = raw.stmt
        if isinstance(stmt, _WRITES) and getattr(stmt, "relation", None) is not None:
            found.add(_qualified(stmt.relation.schemaname, stmt.relation.relname))
        elif isinstance(stmt, ast.TruncateStmt):
            found.update(_qualified(r.schemaname, r.relname) for r in stmt.relations)
        elif isinstance(stmt, ast.DropStmt) and stmt.removeType == enums.ObjectType.OBJECT_TABLE:
            for obj in stmt.objects:
                parts = [p.sval for p in obj]
                found.add(_qualified(parts[-2] if len(parts) > 1 else None, parts[-1]))
    return sorted(found)
