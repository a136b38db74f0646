"""SQLite full-text tables (FTS5, and FTS3/4) and their PostgreSQL counterparts (seed 004).

Where an FTS table's rows live decides what the copy must do with it:

- ``content='t'`` (external content): an index over table ``t``, whose rows
  are copied anyway. Nothing is lost; the DBA gets the DDL of a generated
  ``tsvector`` column and a GIN index on ``t`` (and a ``pg_trgm`` GIN index
  per column where the tokenizer was ``trigram``).
- ``content=''`` (contentless): only the index is stored; the text itself is
  in no table of the file and cannot be copied.
- no ``content=`` option (contentful): the FTS table *is* the only copy of
  its rows. It is copied into a regular table (rowid, its columns as text, a
  generated ``tsvector`` and a GIN index), or skipped only when the DBA says so.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .sqlfiles import q, t

FTS_MODULES = ("fts5", "fts4", "fts3")
CONTENTFUL, EXTERNAL, CONTENTLESS = "contentful", "external", "contentless"
TSV_COLUMN = "search_tsv"
_USING = re.compile(r"\busing\s+(\w+)\s*\((.*)\)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}


@dataclass(frozen=True, slots=True)
class FtsInfo:
    """What an FTS table's ``CREATE VIRTUAL TABLE`` says: module, columns and the options that matter."""

    table: str
    module: str
    columns: tuple[str, ...]
    content: str | None
    content_rowid: str = "rowid"
    tokenize: str = ""

    @property
    def kind(self) -> str:
        """``contentful`` (rows stored only here), ``external`` (``content='t'``) or ``contentless``."""
        if self.content is None:
            return CONTENTFUL
        return CONTENTLESS if self.content == "" else EXTERNAL

    @property
    def trigram(self) -> bool:
        return self.tokenize.split()[:1] == ["trigram"]


def split_args(text: str) -> list[str]:
    """Split a module argument list on top-level commas (quotes and parentheses respected).

    >>> split_args("a, b UNINDEXED, tokenize = 'porter unicode61', content='x,y'")
    ['a', 'b UNINDEXED', "tokenize = 'porter unicode61'", "content='x,y'"]
    """
    out, cur, depth, quote = [], [], 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == _QUOTES[quote] else quote
        elif ch in _QUOTES:
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return [a for a in out if a]


def unquote(token: str) -> str:
    """An SQLite string or identifier without its quotes (doubled quotes undone).

    >>> unquote("'it''s'"), unquote('"Order Details"'), unquote("[x]"), unquote("plain")
    ("it's", 'Order Details', 'x', 'plain')
    """
    token = token.strip()
    if len(token) >= 2 and token[0] in _QUOTES and token[-1] == _QUOTES[token[0]]:
        q = _QUOTES[token[0]]
        return token[1:-1].replace(q + q, q) if q != "]" else token[1:-1]
    return token


def parse_fts(table: str, create_sql: str | None) -> FtsInfo | None:
    """The FTS options of a ``CREATE VIRTUAL TABLE`` statement; None for other modules.

    >>> parse_fts("d", "create virtual table d using fts5(title, body, content='docs', content_rowid='id')").kind
    'external'
    >>> parse_fts("n", "create virtual table n USING fts5(a, content='')").kind
    'contentless'
    >>> i = parse_fts("s", 'create virtual table s USING FTS5("a b", c UNINDEXED, tokenize="trigram")')
    >>> i.kind, i.columns, i.trigram
    ('contentful', ('a b', 'c'), True)
    >>> parse_fts("r", "create virtual table r using rtree(id, x0, x1)") is None
    True
    """
    m = _USING.search(create_sql or "")
    if m is None or m.group(1).lower() not in FTS_MODULES:
        return None
    columns, opts = [], {}
    for arg in split_args(m.group(2)):
        key, eq, value = arg.partition("=")
        if eq and key.strip().replace("_", "").isalnum():
            opts[key.strip().lower()] = unquote(value)
        else:
            columns.append(unquote(_first_token(arg)))
    return FtsInfo(table, m.group(1).lower(), tuple(columns), opts.get("content"),
                   opts.get("content_rowid", "rowid"), opts.get("tokenize", ""))


def _first_token(arg: str) -> str:
    """The column name of a column argument (``"a b" UNINDEXED`` -> ``"a b"``)."""
    if arg[:1] in _QUOTES:
        end = arg.find(_QUOTES[arg[0]], 1)
        while arg[0] != "[" and end + 1 < len(arg) and arg[end + 1] == arg[0]:
            end = arg.find(arg[0], end + 2)
        return arg[: end + 1]
    return arg.split()[0]


def document(columns: tuple[str, ...] | list[str]) -> sql.Composed:
    """The text a tsvector is built from: the columns joined by spaces, NULLs as empty text."""
    return sql.SQL(" || ' ' || ").join(sql.SQL("coalesce({}, '')").format(sql.Identifier(c)) for c in columns)


def _render(statement: sql.Composed) -> str:
    """A filled template as SQL text for the DBA to read (its header comments left out)."""
    text = statement.as_string(None)
    return "\n".join(line for line in text.splitlines() if not line.startswith("--")).strip() + ";"


def _index_name(*parts: str) -> str:
    return "_".join(parts)[:63]


def external_ddl(info: FtsInfo, schema: str, content_table: str, regconfig: str = "simple") -> tuple[str, ...]:
    """The PostgreSQL DDL that replaces an external-content FTS index: tsvector + GIN on the content table.

    With a ``trigram`` tokenizer, ``pg_trgm`` GIN indexes per column follow
    (what LIKE/ILIKE and similarity searches need).
    """
    table = sql.Identifier(schema, content_table)
    tsv = f"{info.table}_tsv"
    ddl = [_render(t("copy_t_fts_add_tsvector", table=table, tsv=sql.Identifier(tsv),
                     regconfig=sql.Literal(regconfig), document=document(info.columns))),
           _render(t("copy_t_fts_gin_index", index=sql.Identifier(_index_name(content_table, tsv, "idx")),
                     table=table, column=sql.Identifier(tsv)))]
    if info.trigram:
        ddl.append(_render(t("copy_t_fts_trgm_extension")))
        ddl += [_render(t("copy_t_fts_trgm_index", index=sql.Identifier(_index_name(content_table, c, "trgm_idx")),
                          table=table, column=sql.Identifier(c))) for c in info.columns]
    return tuple(ddl)


def contentful_ddl(info: FtsInfo, schema: str, regconfig: str = "simple") -> tuple[str, ...]:
    """The DDL ``create_contentful_table`` runs, as text for the pre-flight and summary."""
    return tuple(_render(s) for s in _contentful_statements(info, schema, regconfig))


def _contentful_statements(info: FtsInfo, schema: str, regconfig: str, trigram: bool = True) -> list[sql.Composed]:
    """Table, tsvector GIN index, and with a ``trigram`` tokenizer the extension and a pg_trgm index per column."""
    table = sql.Identifier(schema, info.table)
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in info.columns)
    out = [
        t("copy_t_fts_create_table", table=table, columns=cols, tsv=sql.Identifier(TSV_COLUMN),
          regconfig=sql.Literal(regconfig), document=document(info.columns)),
        t("copy_t_fts_gin_index", index=sql.Identifier(_index_name(info.table, TSV_COLUMN, "idx")), table=table,
          column=sql.Identifier(TSV_COLUMN)),
    ]
    if info.trigram and trigram:
        out.append(t("copy_t_fts_trgm_extension"))
        out += _trgm_indexes(info, table)
    return out


def _trgm_indexes(info: FtsInfo, table: sql.Identifier) -> list[sql.Composed]:
    return [t("copy_t_fts_trgm_index", index=sql.Identifier(_index_name(info.table, c, "trgm_idx")), table=table,
              column=sql.Identifier(c)) for c in info.columns]


def trgm_problem(conn: psycopg.Connection, info: FtsInfo, schema: str) -> str | None:
    """Why the pg_trgm indexes of a contentful ``trigram`` table cannot be created by this role, with what to run.

    None when they can: pg_trgm is installed, or this role may create it
    (the copy then runs ``CREATE EXTENSION IF NOT EXISTS pg_trgm`` itself).
    """
    if not info.trigram:
        return None
    installed, available, can_create = conn.execute(q("copy_trgm_state")).fetchone()  # type: ignore[misc]
    if installed or (available and can_create):
        return None
    why = "is not shipped with this server (install the contrib package)" if not available else (
        "is not installed and this role may not create it")
    todo = " ".join(_render(s) for s in [t("copy_t_fts_trgm_extension"),
                                         *_trgm_indexes(info, sql.Identifier(schema, info.table))])
    return (f"{info.table}: FTS5 tokenizer trigram, but pg_trgm {why}: the table is copied with its tsvector "
            f"only; for its LIKE/similarity searches have a superuser run: {todo}")


def create_contentful_table(conn: psycopg.Connection, schema: str, info: FtsInfo, regconfig: str = "simple") -> str | None:
    """Create the regular table a contentful FTS table is copied into (rowid, text columns, tsvector, GIN; with a
    ``trigram`` tokenizer, pg_trgm GIN indexes per column, the extension created if this role may).

    :returns: None, or what the DBA must run when pg_trgm cannot be had (``trgm_problem``): the copy goes on.
    """
    conn.execute(t("copy_t_create_schema", schema=sql.Identifier(schema)))
    problem = trgm_problem(conn, info, schema)
    for statement in _contentful_statements(info, schema, regconfig, trigram=problem is None):
        conn.execute(statement)
    return problem


def regconfig_exists(conn: psycopg.Connection, regconfig: str) -> bool:
    """Whether the target knows the text search configuration (``simple``, ``english``, ...)."""
    return conn.execute(q("copy_regconfig_check"), {"regconfig": regconfig}).fetchone() is not None


def regconfig_problems(conn: psycopg.Connection, planned: Sequence[FtsInfo | None], regconfig: str) -> list[str]:
    """The text search configuration must exist before a contentful FTS table's tsvector is created with it.

    :param planned: the ``fts`` of each source table to copy (only those that are set need it).
    """
    if not any(f is not None for f in planned) or regconfig_exists(conn, regconfig):
        return []
    return [f"text search configuration {regconfig!r} does not exist in the target (fts_regconfig; "
            "try 'simple' or 'english')"]
