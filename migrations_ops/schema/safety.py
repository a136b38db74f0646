"""Safety findings for a plan's SQL: what will lock, rewrite or lose data.

Two sources, both static (nothing touches a database):

* squawk (PyPI ``squawk-cli``), the PostgreSQL migration linter, on the
  offline SQL of each step; rules the portal already enforces on every run
  (``lock_timeout``, ``statement_timeout``) are left out.
* the portal's own rules on pglast's parse tree, for the review checklist of
  the seeds: data loss (DROP, TRUNCATE, DELETE without WHERE), table
  rewrites, NOT NULL without default, renames that break a running app,
  foreign keys validated under lock, cascades, unbatched UPDATEs.

Findings are tied to the revision whose SQL produced them, using the
``-- Running upgrade a -> b`` comments that Alembic writes in offline mode.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pglast import parse_sql
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.parser import ParseError

DANGER, WARNING, INFO = "danger", "warning", "info"
# Enforced by the runner on every session, so squawk's advice is noise here.
SQUAWK_EXCLUDED = ("require-lock-timeout", "require-statement-timeout", "prefer-robust-stmts")
_STEP_RE = re.compile(r"^-- Running (?P<dir>upgrade|downgrade|stamp) (?P<frm>.*?) -> (?P<to>.*?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a reviewer should look at before confirming a plan."""

    rule: str
    level: str
    message: str
    revision: str | None = None
    statement: str = ""
    help: str = ""
    source: str = "portal"
    # Where squawk points in the plan's SQL (0-based line and column), to name the table and column.
    line: int | None = None
    column: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SqlChunk:
    """The SQL that one plan step emits, as Alembic wrote it offline."""

    revision: str | None
    sql: str
    first_line: int = 0


def split_steps(sql_text: str) -> list[SqlChunk]:
    """Cut offline SQL at Alembic's ``-- Running ... -> rev`` comments.

    >>> [c.revision for c in split_steps("CREATE TABLE v;\\n-- Running upgrade  -> a1\\nX;\\n-- Running upgrade a1 -> b2\\nY;")]
    [None, 'a1', 'b2']
    """
    chunks: list[SqlChunk] = []
    last, rev = 0, None
    for m in _STEP_RE.finditer(sql_text):
        chunks.append(SqlChunk(rev, sql_text[last:m.start()], sql_text.count("\n", 0, last)))
        # An upgrade step belongs to the revision it reaches, a downgrade step to the one it undoes.
        side = "frm" if m.group("dir") == "downgrade" else "to"
        rev = m.group(side).split(",")[0].strip() or None
        last = m.end()
    chunks.append(SqlChunk(rev, sql_text[last:], sql_text.count("\n", 0, last)))
    return [c for c in chunks if c.sql.strip()]


def check_plan_sql(sql_text: str, *, use_squawk: bool = True) -> tuple[Finding, ...]:
    """Review a plan's offline SQL and return findings, most severe first.

    :param sql_text: the SQL of ``make_plan`` (Alembic offline mode).
    :param use_squawk: also run the squawk linter when it is installed.
    """
    chunks = split_steps(sql_text)
    findings: list[Finding] = []
    for chunk in chunks:
        findings.extend(portal_rules(chunk))
    if use_squawk:
        findings.extend(squawk_findings(sql_text, chunks))
    order = {DANGER: 0, WARNING: 1, INFO: 2}
    return tuple(sorted(findings, key=lambda f: order.get(f.level, 3)))


def portal_rules(chunk: SqlChunk) -> list[Finding]:
    """The portal's own rules on one step's statements (pglast parse tree)."""
    try:
        stmts = parse_sql(chunk.sql)
    except ParseError as exc:
        return [Finding("unparsable-sql", WARNING, f"SQL could not be parsed for review: {exc}", chunk.revision)]
    out: list[Finding] = []
    # Locks on a table created in the same step block nobody: nothing else can see it yet.
    created = {s.stmt.relation.relname for s in stmts if type(s.stmt).__name__ == "CreateStmt"}
    for raw in stmts:
        relation = getattr(raw.stmt, "relation", None)
        if relation is not None and getattr(relation, "relname", None) in created:
            continue
        text = chunk.sql[raw.stmt_location: raw.stmt_location + raw.stmt_len].strip() if raw.stmt_len else ""
        for rule, level, message in _statement_rules(raw.stmt):
            out.append(Finding(rule, level, message, chunk.revision, text[:500]))
    return out


def _statement_rules(stmt: Any) -> list[tuple[str, str, str]]:
    kind = type(stmt).__name__
    if kind == "DropStmt":
        return _drop_rules(stmt)
    if kind == "TruncateStmt":
        return [("data-loss-truncate", DANGER, "TRUNCATE removes every row; make sure a backup exists.")]
    if kind == "DeleteStmt" and stmt.whereClause is None:
        return [("data-loss-delete-all", DANGER, "DELETE without WHERE removes every row of the table.")]
    if kind == "UpdateStmt" and stmt.whereClause is None:
        return [("unbatched-update", WARNING,
                 "UPDATE without WHERE rewrites every row in one transaction, holding row locks until the end; "
                 "backfill in keyset batches on a large table.")]
    if kind == "RenameStmt":
        return [("rename", WARNING,
                 "A rename breaks application code still using the old name; use expand/contract "
                 "(add the new name, deploy, then drop the old one).")]
    if kind == "IndexStmt" and not stmt.concurrent:
        return [("index-not-concurrent", WARNING,
                 f"CREATE INDEX on {stmt.relation.relname} blocks writes to the table while it builds; "
                 "use CONCURRENTLY inside an autocommit block.")]
    if kind == "AlterTableStmt":
        return [r for cmd in (stmt.cmds or ()) for r in _alter_rules(cmd)]
    return []


def _drop_rules(stmt: Any) -> list[tuple[str, str, str]]:
    rtype = ObjectType(stmt.removeType).name
    if rtype in ("OBJECT_TABLE", "OBJECT_SCHEMA", "OBJECT_MATVIEW"):
        what = rtype.removeprefix("OBJECT_").lower()
        return [("data-loss-drop", DANGER, f"DROP {what.upper()} deletes it and all its data.")]
    if rtype == "OBJECT_INDEX" and not stmt.concurrent:
        return [("drop-index-not-concurrent", INFO, "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock.")]
    return []


def _alter_rules(cmd: Any) -> list[tuple[str, str, str]]:
    sub = AlterTableType(cmd.subtype).name
    if sub == "AT_DropColumn":
        return [("data-loss-drop-column", DANGER, f"DROP COLUMN {cmd.name} deletes the column's values.")]
    if sub == "AT_AlterColumnType":
        return [("table-rewrite", WARNING,
                 f"Changing the type of {cmd.name} may rewrite the whole table under ACCESS EXCLUSIVE lock.")]
    if sub == "AT_SetNotNull":
        return [("set-not-null-scan", WARNING,
                 f"SET NOT NULL on {cmd.name} scans the table under ACCESS EXCLUSIVE lock; on PostgreSQL 12+ add a "
                 "CHECK (... IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL.")]
    if sub == "AT_AddColumn":
        return _add_column_rules(cmd.def_)
    if sub == "AT_AddConstraint":
        return _constraint_rules(cmd.def_)
    return []


def _add_column_rules(coldef: Any) -> list[tuple[str, str, str]]:
    kinds = {ConstrType(c.contype).name for c in (coldef.constraints or ())}
    if "CONSTR_NOTNULL" in kinds and "CONSTR_DEFAULT" not in kinds:
        return [("not-null-without-default", DANGER,
                 f"ADD COLUMN {coldef.colname} NOT NULL without a default fails on a table that has rows.")]
    return []


def _constraint_rules(con: Any) -> list[tuple[str, str, str]]:
    kind = ConstrType(con.contype).name
    out: list[tuple[str, str, str]] = []
    if kind == "CONSTR_FOREIGN":
        if not con.skip_validation:
            out.append(("fk-validated-under-lock", WARNING,
                        "Adding a foreign key validates every row while holding locks on both tables; "
                        "add it NOT VALID, then VALIDATE CONSTRAINT in a later step."))
        if con.fk_del_action == "c":
            out.append(("fk-cascade", INFO, "ON DELETE CASCADE: deleting a parent row silently deletes children."))
    elif kind == "CONSTR_CHECK" and not con.skip_validation:
        out.append(("check-validated-under-lock", INFO, "A CHECK constraint is validated under lock; consider NOT VALID."))
    return out


def squawk_binary() -> str | None:
    """squawk's executable: next to the running Python (a venv), else on PATH."""
    here = Path(sys.executable).with_name("squawk")
    return str(here) if here.exists() else shutil.which("squawk")


def squawk_findings(sql_text: str, chunks: list[SqlChunk]) -> list[Finding]:
    """Run squawk on the whole plan (it tracks BEGIN/COMMIT) and map lines back to steps."""
    exe = squawk_binary()
    if exe is None or not sql_text.strip():
        return []
    with tempfile.TemporaryDirectory(prefix="mop-squawk-") as tmp:
        (Path(tmp) / "plan.sql").write_text(sql_text)
        args = [exe, "--reporter", "json", *(f"--exclude={r}" for r in SQUAWK_EXCLUDED), "plan.sql"]
        proc = subprocess.run(args, cwd=tmp, capture_output=True, text=True, timeout=60)
    try:
        items = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return [Finding("squawk-failed", INFO, f"squawk gave no report: {proc.stderr.strip()[:200]}", source="squawk")]
    out = []
    for item in items:
        line = int(item.get("line") or 0)
        owner = [c for c in chunks if c.first_line <= line]
        level = WARNING if item.get("level") in ("Warning", "Error") else INFO
        out.append(Finding(
            rule=item.get("rule_name", "squawk"), level=level, message=item.get("message", ""),
            revision=owner[-1].revision if owner else None, help=item.get("help") or "", source="squawk",
            line=line, column=int(item.get("column") or 0),
        ))
    return out



_DATA_LOSS_MARK = re.compile(r"data[- ]loss|loses data|destructive", re.IGNORECASE)


def review_revision_source(path: Path, revision: str | None = None) -> tuple[Finding, ...]:
    """The review checklist on one revision file, read statically (never imported).

    Flags a ``downgrade()`` that does nothing (seed 003: ``pass`` downgrades
    make rollback plans lie) and a downgrade that drops data without saying
    so in the module docstring (seed 002: mark data loss).
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        return (Finding("unreadable-revision", WARNING, f"{path.name} cannot be read: {exc}", revision),)
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    down = funcs.get("downgrade")
    out: list[Finding] = []
    if down is None or _is_empty_body(down.body):
        out.append(Finding("downgrade-not-implemented", DANGER,
                           "downgrade() does nothing: a rollback to before this revision would only move the "
                           "version table, not the schema.", revision))
    elif _calls_any(down, {"drop_table", "drop_column"}) and not _DATA_LOSS_MARK.search(ast.get_docstring(tree) or ""):
        out.append(Finding("unmarked-data-loss", WARNING,
                           "downgrade() drops tables or columns but the docstring does not mark the data loss.",
                           revision))
    return tuple(out)


def _is_empty_body(body: list[Any]) -> bool:
    for node in body:
        if isinstance(node, ast.Pass):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring or ...
        return False
    return True


def _calls_any(func: Any, names: set[str]) -> bool:
    for node in ast.walk(func):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names:
            return True
    return False
