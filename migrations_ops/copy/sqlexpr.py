"""SQLite expressions (CHECK, a partial index's WHERE, DEFAULT) translated to PostgreSQL, or refused with a reason.

SQLite keeps no parsed form of a CHECK constraint or of a partial index's
WHERE, only the CREATE statement's text in ``sqlite_master.sql``. That text
is split with a small tokenizer (strings, the three quoting styles of names,
parentheses), then each expression is parsed by PostgreSQL's own parser
(pglast) and accepted only if every node means the same in both databases:
comparisons, arithmetic, AND/OR/NOT, IN, BETWEEN, IS [NOT] NULL, constants,
columns of the table and a few functions. Anything else raises
``Untranslatable`` with the reason, so that a skipped constraint is named,
never dropped in silence. The output is pglast's deparse of the checked tree,
so every column name in it is quoted as PostgreSQL needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pglast import ast


def _load_pglast() -> None:
    """Import PostgreSQL's parser at the first translation: most processes that import the copy engine (the
    command line, the pages) never translate an expression, and pglast is 5 MB and 30 ms to load."""
    global ast, parse_sql, A_Expr_Kind, ParseError, RawStream  # noqa: PLW0603 - bound once, read by the helpers
    from pglast import ast, parse_sql
    from pglast.enums import A_Expr_Kind
    from pglast.parser import ParseError
    from pglast.stream import RawStream


_TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<str>'(?:[^']|'')*')
  | (?P<name>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
  | (?P<punct>[(),])
  | (?P<word>[^\W\d]\w*)
  | (?P<other>.)
""", re.S | re.X)
_OPERATORS = {"=", "<>", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/", "%", "||"}
_FUNCTIONS = {"length", "lower", "upper", "abs", "trim", "ltrim", "rtrim"}
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*\Z")
_BOOL_TEXT = {"t", "true", "f", "false", "1", "0", "yes", "no", "on", "off"}
_NUMERIC_TYPES = ("bigint", "integer", "smallint", "numeric", "double precision", "real")


class Untranslatable(Exception):
    """An expression with no faithful PostgreSQL form; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    start: int
    end: int

    def word(self) -> str:
        """The keyword in upper case (SQLite keywords ignore case), '' for anything but a bare word."""
        return self.text.upper() if self.kind == "word" else ""


def tokens(text: str) -> list[Token]:
    """Split SQLite text into tokens, comments and blanks left out.

    >>> [t.text for t in tokens("CHECK ([a b] >= 'x)' -- c\\n)")]
    ['CHECK', '(', '[a b]', '>', '=', "'x)'", ')']
    """
    return [Token(m.lastgroup or "other", m.group(), m.start(), m.end())
            for m in _TOKEN.finditer(text) if m.lastgroup != "ws"]


def _close(toks: Sequence[Token], i: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``toks[i]`` (len(toks) if unbalanced)."""
    depth = 0
    for j in range(i, len(toks)):
        depth += {"(": 1, ")": -1}.get(toks[j].text, 0) if toks[j].kind == "punct" else 0
        if depth == 0:
            return j
    return len(toks)


def _pg_text(toks: Sequence[Token]) -> str:
    """The tokens as text, SQLite's `name` and [name] quoting turned into PostgreSQL's "name"."""
    out: list[str] = []
    for i, tok in enumerate(toks):
        if i and tok.start > toks[i - 1].end:
            out.append(" ")
        text = tok.text
        if tok.kind == "name" and text[0] in "`[":
            inner = text[1:-1].replace("``", "`") if text[0] == "`" else text[1:-1]
            text = '"' + inner.replace('"', '""') + '"'
        out.append(text)
    return "".join(out)


def _unquote(tok: Token) -> str:
    """A name token without its quotes (a CONSTRAINT's name keeps its case and spaces)."""
    if tok.kind != "name":
        return tok.text
    q = tok.text[0]
    return tok.text[1:-1] if q == "[" else tok.text[1:-1].replace(q * 2, q)


def _definitions(toks: Sequence[Token]) -> Iterator[list[Token]]:
    """The comma-separated column and constraint definitions between a CREATE TABLE's outer parentheses."""
    first = next((i for i, t in enumerate(toks) if t.text == "(" and t.kind == "punct"), None)
    if first is None:
        return
    end, part, depth = _close(toks, first), [], 0
    for tok in toks[first + 1:end]:
        if tok.kind == "punct" and tok.text == "," and depth == 0:
            yield part
            part = []
            continue
        depth += {"(": 1, ")": -1}.get(tok.text, 0) if tok.kind == "punct" else 0
        part.append(tok)
    if part:
        yield part


def table_checks(create_sql: str) -> list[tuple[str | None, str]]:
    """The CHECK constraints of a CREATE TABLE (column and table level) as ``(name or None, expression)``.

    >>> table_checks("create table t (qty INT CHECK (qty > 0), [p] REAL, CONSTRAINT pos CHECK ([p] >= 0), s TEXT)")
    [(None, 'qty > 0'), ('pos', '"p" >= 0')]
    >>> table_checks("create table t (a TEXT DEFAULT 'CHECK (', b INT)")
    []
    """
    out: list[tuple[str | None, str]] = []
    for part in _definitions(tokens(create_sql)):
        name: str | None = None
        for i, tok in enumerate(part):
            if tok.word() == "CONSTRAINT" and i + 1 < len(part):
                name = _unquote(part[i + 1])
            elif tok.word() == "CHECK" and i + 1 < len(part) and part[i + 1].text == "(":
                end = _close(part, i + 1)
                out.append((name, _pg_text(part[i + 2:end])))
                name = None
    return out


def index_where(create_sql: str) -> str | None:
    """The WHERE of a CREATE INDEX statement (a partial index), or None.

    >>> index_where('create index ix on "t" (a, b) WHERE status = \\'open\\' AND [x] IS NOT NULL')
    'status = \\'open\\' AND "x" IS NOT NULL'
    >>> index_where("create index ix on t (a)") is None
    True
    """
    toks = tokens(create_sql)
    first = next((i for i, t in enumerate(toks) if t.text == "(" and t.kind == "punct"), len(toks))
    rest = toks[_close(toks, first) + 1:]
    if not rest or rest[0].word() != "WHERE":
        return None
    return _pg_text(rest[1:])


def _parse(expr: str) -> ast.Node:
    """The expression as PostgreSQL's parser reads it (one select-list entry, nothing else)."""
    _load_pglast()
    try:
        stmts = parse_sql("VALUES (" + expr + ")")
    except ParseError as exc:
        why = re.sub(r", at index \d+", "", str(exc))  # an offset into our VALUES wrapper, not the DBA's text
        raise Untranslatable(f"does not parse as PostgreSQL ({why})") from None
    sel = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(sel, ast.SelectStmt) or len(sel.valuesLists or ()) != 1 or len(sel.valuesLists[0]) != 1:
        raise Untranslatable("not a single expression")
    return sel.valuesLists[0][0]


def translate(expr: str, columns: Sequence[str]) -> str:
    """A CHECK or partial-index expression in PostgreSQL, column names matched as SQLite does (any case).

    >>> translate('qty > 0 AND "Unit Price" BETWEEN 0 AND 1e6', ["Qty", "Unit Price"])
    '"Qty" > 0 AND "Unit Price" BETWEEN 0 AND 1e6'
    >>> translate("status IN ('a', 'b') AND length(code) == 3 AND note IS NOT NULL", ["status", "code", "note"])
    "status IN ('a', 'b') AND length(code) = 3 AND note IS NOT NULL"
    >>> translate("CASE WHEN kind = 'b' THEN qty > 0 ELSE 1 END", ["Kind", "qty"])
    'CASE WHEN "Kind" = \\'b\\' THEN qty > 0 ELSE 1 END'
    >>> translate("typeof(x) = 'integer'", ["x"])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.sqlexpr.Untranslatable: uses typeof(), which PostgreSQL does not have or reads differently
    >>> translate("x GLOB '[0-9]*'", ["x"])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.sqlexpr.Untranslatable: does not parse as PostgreSQL (syntax error at or near "GLOB")
    >>> translate("name LIKE 'a%'", ["name"])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.sqlexpr.Untranslatable: uses LIKE, which ignores ASCII case in SQLite and not in PostgreSQL
    >>> translate("other > 0", ["x"])
    Traceback (most recent call last):
    ...
    migrations_ops.copy.sqlexpr.Untranslatable: names other, which is not a column of the table (SQLite would read it as a string)
    """
    node = _parse(expr)
    by_lower = {c.lower(): c for c in columns}
    _check(node, by_lower)
    return RawStream()(node)


def _check(node: object, columns: dict[str, str]) -> None:
    """Walk the tree; rename columns to their exact names; raise on anything not known to mean the same."""
    if isinstance(node, (list, tuple)):
        for n in node:
            _check(n, columns)
        return
    if not isinstance(node, ast.Node):
        return
    _check_node(node, columns)
    for attr in type(node).__slots__:
        if attr not in ("location", "name", "funcname"):
            _check(getattr(node, attr), columns)


def _check_node(node: ast.Node, columns: dict[str, str]) -> None:
    """One node of the tree: allowed as it is, a column renamed to its declared name, or ``Untranslatable``."""
    if isinstance(node, (ast.BoolExpr, ast.NullTest, ast.A_Const, ast.CoalesceExpr, ast.CaseExpr, ast.CaseWhen,
                         ast.String, ast.Integer, ast.Float, ast.Boolean)):
        return
    if isinstance(node, ast.ColumnRef):
        field = node.fields[-1] if len(node.fields) == 1 else None
        if not isinstance(field, ast.String):
            raise Untranslatable("names a column of another table, or *")
        exact = columns.get(field.sval.lower())
        if exact is None:
            raise Untranslatable(f"names {field.sval}, which is not a column of the table "
                                 "(SQLite would read it as a string)")
        node.fields = (ast.String(sval=exact),)
        return
    if isinstance(node, ast.A_Expr):
        _check_operator(node)
        return
    if isinstance(node, ast.FuncCall):
        fname = ".".join(s.sval for s in node.funcname)
        if fname.lower() not in _FUNCTIONS or node.agg_star or node.over is not None:
            raise Untranslatable(f"uses {fname}(), which PostgreSQL does not have or reads differently")
        return
    raise Untranslatable(f"uses {type(node).__name__}, which is not translated")


def _check_operator(node: ast.A_Expr) -> None:
    """Comparisons, arithmetic, IN and BETWEEN pass; SQLite's ``==`` becomes ``=``; LIKE and the rest do not."""
    op = node.name[0].sval if node.name else ""
    if node.kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE):
        raise Untranslatable("uses LIKE, which ignores ASCII case in SQLite and not in PostgreSQL")
    if node.kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_BETWEEN, A_Expr_Kind.AEXPR_NOT_BETWEEN):
        return
    if node.kind != A_Expr_Kind.AEXPR_OP or (op not in _OPERATORS and op != "=="):
        raise Untranslatable(f"uses the operator {op or node.kind.name}, which is not translated")
    if op == "==":
        node.name = (ast.String(sval="="),)


def translate_default(expr: str, pg_type: str) -> str:
    """A column DEFAULT in PostgreSQL: constants and CURRENT_TIMESTAMP/DATE/TIME only, checked against the type.

    >>> [translate_default(d, t) for d, t in (("0", "boolean"), ("'x'", "text"), ("-1.5", "numeric(10,2)"),
    ...                                       ("CURRENT_TIMESTAMP", "timestamp with time zone"), ("NULL", "bigint"))]
    ['false', "'x'", '-1.5', 'CURRENT_TIMESTAMP', 'NULL']
    >>> translate_default("''", "bigint")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.sqlexpr.Untranslatable: default '' is not a value of bigint
    >>> translate_default("(datetime('now'))", "timestamp with time zone"), translate_default("date('now')", "date")
    ('CURRENT_TIMESTAMP', 'CURRENT_DATE')
    >>> translate_default("(datetime('now'))", "text")
    Traceback (most recent call last):
    ...
    migrations_ops.copy.sqlexpr.Untranslatable: default (datetime('now')) is an expression, not a constant
    """
    node = _parse(expr)
    if isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP and node.lexpr is None \
            and node.name[0].sval == "-" and isinstance(node.rexpr, ast.A_Const):
        node = ast.A_Const(val=_negate(node.rexpr.val))
    if isinstance(node, ast.SQLValueFunction):
        return RawStream()(node)
    now = _sqlite_now(node, pg_type)
    if now is not None:
        return now
    if not isinstance(node, ast.A_Const):
        raise Untranslatable(f"default {expr} is an expression, not a constant")
    if node.isnull:
        return "NULL"
    return _typed_constant(expr, node, pg_type)


def _sqlite_now(node: ast.Node, pg_type: str) -> str | None:
    """``datetime('now')`` / ``date('now')`` (the usual SQLite spelling of "now") on a timestamp or date column.

    On a text column they are not translated: SQLite stores its own text format there.
    """
    if not isinstance(node, ast.FuncCall) or len(node.args or ()) != 1:
        return None
    arg, fname = node.args[0], ".".join(s.sval for s in node.funcname).lower()
    if not (isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String) and arg.val.sval.lower() == "now"):
        return None
    if fname == "datetime" and pg_type.startswith("timestamp"):
        return "CURRENT_TIMESTAMP"
    if fname == "date" and pg_type == "date":
        return "CURRENT_DATE"
    return None


def _negate(val: ast.Node) -> ast.Node:
    """``-1`` parses as minus applied to 1; a DEFAULT wants the negative constant itself."""
    if isinstance(val, ast.Integer):
        return ast.Integer(ival=-val.ival)
    if isinstance(val, ast.Float):
        return ast.Float(fval="-" + val.fval)
    raise Untranslatable("minus before a non-number")


def _typed_constant(expr: str, node: ast.A_Const, pg_type: str) -> str:
    """The constant if the column's type takes it as SQLite would store it (0/1 become false/true)."""
    val = node.val
    text = val.sval if isinstance(val, ast.String) else None
    if pg_type == "boolean":
        if isinstance(val, ast.Integer) and val.ival in (0, 1):
            return "true" if val.ival else "false"
        if isinstance(val, ast.Boolean) or (text is not None and text.strip().lower() in _BOOL_TEXT):
            return RawStream()(node)
        raise Untranslatable(f"default {expr} is not a boolean")
    if pg_type.startswith(_NUMERIC_TYPES):
        if text is not None and not _NUMBER.match(text) or isinstance(val, ast.Boolean):
            raise Untranslatable(f"default {expr} is not a value of {pg_type}")
        if pg_type in ("bigint", "integer", "smallint") and isinstance(val, ast.Float):
            raise Untranslatable(f"default {expr} is not a value of {pg_type}")
    return RawStream()(node)
