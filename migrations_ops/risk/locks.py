"""Which lock each statement of a plan takes, on which table, and how much of the table it reads or rewrites.

Read from pglast's parse tree, never from the text: ``ALTER TABLE t ALTER
COLUMN c TYPE bigint`` takes ACCESS EXCLUSIVE and rewrites ``t``; a plain
``CREATE INDEX`` takes SHARE (writes wait, reads go on) and scans it; a
``CONCURRENTLY`` build takes SHARE UPDATE EXCLUSIVE. The modes follow the
PostgreSQL manual's "Explicit Locking" chapter and the ``ALTER TABLE`` page.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from pglast import parse_sql
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.parser import ParseError

from ..schema.safety import split_steps

ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
EXCLUSIVE = "EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
ROW_EXCLUSIVE = "ROW EXCLUSIVE"
# Modes that make writers wait; ACCESS EXCLUSIVE makes readers wait too.
BLOCKS_WRITES = (ACCESS_EXCLUSIVE, EXCLUSIVE, SHARE_ROW_EXCLUSIVE, SHARE)
_STRENGTH = {m: i for i, m in enumerate(
    (ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE))}

# How much of the table the statement touches while it holds the lock.
METADATA, SCAN, REWRITE, ALL_ROWS, SOME_ROWS, CREATE, DROP = (
    "metadata", "scan", "rewrite", "all_rows", "some_rows", "create", "drop")
# Alembic's own bookkeeping: one row, nobody else reads it.
VERSION_TABLES = frozenset({"alembic_version"})
# ALTER TABLE subcommands that only take SHARE UPDATE EXCLUSIVE (the manual's ALTER TABLE page).
_LIGHT_ALTERS = {"AT_SetStatistics", "AT_ValidateConstraint", "AT_SetRelOptions", "AT_ResetRelOptions",
                 "AT_ClusterOn", "AT_DropCluster", "AT_SetOptions", "AT_ResetOptions"}


@dataclass(frozen=True, slots=True)
class StatementLock:
    """One statement's effect on one table: the lock mode and the work done under it."""

    revision: str | None
    table: str
    lock: str
    work: str
    what: str
    statement: str = ""
    column: str = ""

    @property
    def blocks_writes(self) -> bool:
        return self.lock in BLOCKS_WRITES

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def stronger(a: str, b: str) -> str:
    """The stronger of two lock modes.

    >>> stronger(SHARE, ACCESS_EXCLUSIVE)
    'ACCESS EXCLUSIVE'
    """
    return a if _STRENGTH.get(a, -1) >= _STRENGTH.get(b, -1) else b


def plan_locks(sql_text: str) -> tuple[StatementLock, ...]:
    """Every (statement, table) of a plan's offline SQL with the lock it takes, in plan order.

    :param sql_text: the plan's SQL as Alembic writes it offline (``-- Running upgrade a -> b`` marks steps).
    """
    out: list[StatementLock] = []
    for chunk in split_steps(sql_text):
        try:
            stmts = parse_sql(chunk.sql)
        except ParseError:
            continue  # the safety review already reports unparsable SQL
        for raw in stmts:
            text = chunk.sql[raw.stmt_location: raw.stmt_location + raw.stmt_len].strip() if raw.stmt_len else ""
            for table, lock, work, what, column in statement_locks(raw.stmt):
                if table.split(".")[-1] in VERSION_TABLES:
                    continue
                out.append(StatementLock(chunk.revision, table, lock, work, what, text[:500], column))
    return tuple(out)


def _name(rangevar: Any) -> str:
    return f"{rangevar.schemaname}.{rangevar.relname}" if getattr(rangevar, "schemaname", None) else rangevar.relname


def statement_locks(stmt: Any) -> list[tuple[str, str, str, str, str]]:
    """(table, lock, work, what, column) for one parsed statement; [] for statements that lock no table.

    >>> from pglast import parse_sql
    >>> statement_locks(parse_sql("CREATE INDEX i ON t (c)")[0].stmt)
    [('t', 'SHARE', 'scan', 'CREATE INDEX i', '')]
    """
    kind = type(stmt).__name__
    if kind == "CreateStmt":
        return [(_name(stmt.relation), ACCESS_EXCLUSIVE, CREATE, "CREATE TABLE", "")]
    if kind == "IndexStmt":
        lock = SHARE_UPDATE_EXCLUSIVE if stmt.concurrent else SHARE
        what = f"CREATE {'UNIQUE ' if stmt.unique else ''}INDEX{' CONCURRENTLY' if stmt.concurrent else ''} {stmt.idxname or ''}"
        return [(_name(stmt.relation), lock, SCAN, what.strip(), "")]
    if kind == "AlterTableStmt":
        return _alter_locks(stmt)
    if kind == "DropStmt" and ObjectType(stmt.removeType).name == "OBJECT_TABLE":
        return [(".".join(n.sval for n in obj), ACCESS_EXCLUSIVE, DROP, "DROP TABLE", "") for obj in stmt.objects]
    if kind == "TruncateStmt":
        return [(_name(r), ACCESS_EXCLUSIVE, DROP, "TRUNCATE", "") for r in stmt.relations]
    if kind == "RenameStmt" and stmt.relation is not None:
        return [(_name(stmt.relation), ACCESS_EXCLUSIVE, METADATA, "RENAME", stmt.subname or "")]
    if kind in ("UpdateStmt", "DeleteStmt"):
        work = ALL_ROWS if stmt.whereClause is None else SOME_ROWS
        return [(_name(stmt.relation), ROW_EXCLUSIVE, work, kind.removesuffix("Stmt").upper(), "")]
    if kind == "InsertStmt":
        return [(_name(stmt.relation), ROW_EXCLUSIVE, SOME_ROWS, "INSERT", "")]
    if kind == "CreateTrigStmt":
        return [(_name(stmt.relation), SHARE_ROW_EXCLUSIVE, METADATA, "CREATE TRIGGER", "")]
    return []


def _alter_locks(stmt: Any) -> list[tuple[str, str, str, str, str]]:
    """One row per table an ALTER TABLE touches: its strongest lock and heaviest work.

    Steps: 1 each subcommand's lock and work, 2 a foreign key also locks the
    referenced table in SHARE ROW EXCLUSIVE, 3 fold the subcommands of one table.
    """
    table = _name(stmt.relation)
    rows: list[tuple[str, str, str, str, str]] = []
    for cmd in stmt.cmds or ():
        sub = AlterTableType(cmd.subtype).name
        column = cmd.name or getattr(getattr(cmd, "def_", None), "colname", None) or ""
        what = re.sub(r"(?<!^)(?=[A-Z])", " ", sub.removeprefix("AT_")).upper()  # AT_AddColumn -> ADD COLUMN
        if sub in _LIGHT_ALTERS:
            work = SCAN if sub == "AT_ValidateConstraint" else METADATA
            rows.append((table, SHARE_UPDATE_EXCLUSIVE, work, what, column))
        elif sub == "AT_AlterColumnType":
            rows.append((table, ACCESS_EXCLUSIVE, REWRITE, "ALTER COLUMN TYPE", column))
        elif sub == "AT_SetNotNull":
            rows.append((table, ACCESS_EXCLUSIVE, SCAN, "SET NOT NULL", column))
        elif sub == "AT_DropColumn":
            rows.append((table, ACCESS_EXCLUSIVE, DROP, "DROP COLUMN", column))
        elif sub == "AT_AddConstraint":
            rows.extend(_constraint_locks(table, cmd.def_, what))
        else:
            rows.append((table, ACCESS_EXCLUSIVE, METADATA, what, column))
    return _fold(rows)


def _constraint_locks(table: str, con: Any, what: str) -> list[tuple[str, str, str, str, str]]:
    kind = ConstrType(con.contype).name
    validated = not con.skip_validation
    if kind == "CONSTR_FOREIGN":
        work = SCAN if validated else METADATA
        return [(table, SHARE_ROW_EXCLUSIVE, work, "ADD FOREIGN KEY", ""),
                (_name(con.pktable), SHARE_ROW_EXCLUSIVE, METADATA, "referenced by a new FOREIGN KEY", "")]
    if kind in ("CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION") and not con.indexname:
        return [(table, ACCESS_EXCLUSIVE, SCAN, f"ADD {kind.removeprefix('CONSTR_')} (builds an index)", "")]
    return [(table, ACCESS_EXCLUSIVE, SCAN if validated else METADATA, what, "")]


_WORK_WEIGHT = {METADATA: 0, SOME_ROWS: 1, CREATE: 1, SCAN: 2, ALL_ROWS: 3, REWRITE: 4, DROP: 5}


def _fold(rows: list[tuple[str, str, str, str, str]]) -> list[tuple[str, str, str, str, str]]:
    by_table: dict[str, tuple[str, str, str, str, str]] = {}
    for row in rows:
        seen = by_table.get(row[0])
        if seen is None:
            by_table[row[0]] = row
            continue
        heavier = row if _WORK_WEIGHT[row[2]] > _WORK_WEIGHT[seen[2]] else seen
        by_table[row[0]] = (row[0], stronger(seen[1], row[1]), heavier[2], heavier[3], heavier[4])
    return list(by_table.values())
