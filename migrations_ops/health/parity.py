"""Search parity: does PostgreSQL full-text search find what SQLite FTS5 found?

For a contentful FTS table copied into a regular table with a generated
``tsvector`` column (``copy/fts.py``), the same queries run on both sides:
FTS5 ``MATCH`` on the source file (opened read-only) and ``@@`` with a text
search configuration in PostgreSQL; the sets of matching keys (``rowid``)
are compared per query.

Steps of ``search_parity``:
1. read the FTS table's definition in SQLite (columns, tokenizer) and, in the
   target, ``default_text_search_config`` and the configuration the column
   was built with;
2. take the DBA's queries, or draw them from the data (``sample_queries``);
3. per query: keys in SQLite, keys in PostgreSQL (the stored column when the
   configuration is the column's, else ``to_tsvector`` on the fly), the
   tsquery PostgreSQL used, both timings;
4. compare: counts, overlap (Jaccard), keys only on one side with their text,
   and the likely causes of each difference; advice for the whole table.
"""

from __future__ import annotations

import collections
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from .. import queries
from ..copy.fts import TSV_COLUMN, FtsInfo, document, parse_fts
from ..errors import OpsError
from ..locks.models import _Json

KINDS = ("term", "and", "phrase", "prefix")
_WORD = re.compile(r"\w+", re.UNICODE)
_CONFIG = re.compile(r"'([^']+)'::regconfig")
EXAMPLES = 5


class ParityError(OpsError):
    """The parity check cannot run: no such FTS table, no copied table, a bad query or configuration."""

    def __init__(self, message: str) -> None:
        self.reason = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class ParityQuery(_Json):
    """One search: its kind and words, as a DBA writes it (``word``, ``a b``, ``"a b"``, ``word*``)."""

    kind: str
    text: str

    @property
    def label(self) -> str:
        return {"phrase": f'"{self.text}"', "prefix": f"{self.text}*"}.get(self.kind, self.text)

    def fts5(self) -> str:
        """The FTS5 MATCH expression: every word quoted (so no word is read as an operator).

        >>> ParityQuery("and", "cat dog").fts5(), ParityQuery("phrase", "a b").fts5(), ParityQuery("prefix", "ru").fts5()
        ('"cat" AND "dog"', '"a b"', '"ru"*')
        """
        quoted = [_quote(w) for w in self.text.split()]
        if self.kind == "phrase":
            return _quote(self.text)
        if self.kind == "prefix":
            return quoted[0] + "*"
        return " AND ".join(quoted)


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def parse_query(text: str) -> ParityQuery:
    """Read a DBA's query: ``"a b"`` a phrase, ``word*`` a prefix, ``a b`` all words (AND), ``a`` a term.

    >>> [parse_query(t) for t in ("cat", "cat dog", '"cat dog"', "ca*")]  # doctest: +NORMALIZE_WHITESPACE
    [ParityQuery(kind='term', text='cat'), ParityQuery(kind='and', text='cat dog'),
     ParityQuery(kind='phrase', text='cat dog'), ParityQuery(kind='prefix', text='ca')]
    >>> parse_query("a* b")
    Traceback (most recent call last):
    ...
    migrations_ops.health.parity.ParityError: query 'a* b': a prefix query is one word followed by *
    """
    words = text.strip()
    if not words:
        raise ParityError("empty query")
    if len(words) > 1 and words[0] == words[-1] == '"':
        inner = " ".join(words[1:-1].split())
        if not inner:
            raise ParityError(f"query {text!r}: empty phrase")
        return ParityQuery("phrase", inner)
    if "*" in words:
        if " " in words or "*" in words[:-1] or len(words) < 2:
            raise ParityError(f"query {text!r}: a prefix query is one word followed by *")
        return ParityQuery("prefix", words[:-1])
    parts = words.split()
    return ParityQuery("and" if len(parts) > 1 else "term", " ".join(parts))


def sample_queries(texts: Sequence[str], count: int = 20) -> list[ParityQuery]:
    """Draw ``count`` queries from row texts: single terms of several frequencies, two-term ANDs, phrases, prefixes.

    Deterministic for the same texts, so a rerun with another configuration asks the same questions.

    >>> rows = ["the cat sat", "the cat ran", "a dog ran far", "the dog sat"]
    >>> [q.label for q in sample_queries(rows, 8)]
    ['the', 'dog', 'sat', 'the cat', '"the cat"', 'th*', 'ca*', 'do*']
    """
    tokenized = [[w.lower() for w in _WORD.findall(t or "")] for t in texts]
    freq = collections.Counter(w for words in tokenized for w in set(words))
    ranked = [w for w, _ in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))]
    if not ranked:
        return []
    n_terms = max(1, count * 2 // 5)
    n_and = n_phrase = (count - n_terms) // 3
    n_prefix = count - n_terms - n_and - n_phrase
    step = max(1, len(ranked) // n_terms)
    out = [ParityQuery("term", w) for w in ranked[::step][:n_terms]]
    pairs = [(a, b) for words in tokenized for a, b in zip(words, words[1:], strict=False) if a != b]
    seen: set[str] = set()
    ands = [ParityQuery("and", f"{a} {b}") for a, b in pairs if not (f"{a} {b}" in seen or seen.add(f"{a} {b}"))]
    out += ands[:n_and]
    out += [ParityQuery("phrase", q.text) for q in ands[:n_phrase]]
    stems = [w[: max(2, len(w) // 2 + 1)] for w in ranked if len(w) >= 3] or ranked
    out += [ParityQuery("prefix", s) for s in dict.fromkeys(stems)][:n_prefix]
    return out[:count]


@dataclass(frozen=True, slots=True)
class Example(_Json):
    """A key found on one side only, with the start of its text."""

    key: int
    text: str


@dataclass(frozen=True, slots=True)
class QueryParity(_Json):
    """One query on both sides: counts, overlap, examples and the likely causes of a difference."""

    query: ParityQuery
    fts5: str
    tsquery: str
    sqlite_count: int
    pg_count: int
    both: int
    jaccard: float
    only_sqlite: tuple[Example, ...]
    only_pg: tuple[Example, ...]
    only_sqlite_count: int
    only_pg_count: int
    sqlite_ms: float
    pg_ms: float
    causes: tuple[str, ...]

    @property
    def same(self) -> bool:
        return self.only_sqlite_count == 0 and self.only_pg_count == 0


@dataclass(frozen=True, slots=True)
class ParityReport(_Json):
    """The whole check: where, with which configuration, each query, and what to do."""

    sqlite_table: str
    pg_table: str
    regconfig: str
    column_regconfig: str | None
    default_text_search_config: str
    tokenizer: str
    sampled: bool
    queries: tuple[QueryParity, ...]
    advice: tuple[str, ...]
    seconds: float

    @property
    def matching(self) -> int:
        return sum(1 for q in self.queries if q.same)


def search_parity(
    sqlite_path: Path | str,
    conn: psycopg.Connection,
    table: str,
    *,
    schema: str = "public",
    regconfig: str | None = None,
    query_texts: Sequence[str] = (),
    count: int = 20,
    sample_rows: int = 5000,
) -> ParityReport:
    """Compare FTS5 in ``sqlite_path`` with PostgreSQL full-text search of its copy, query by query.

    :param sqlite_path: the source file (opened read-only).
    :param conn: a connection to the target holding ``schema.table`` with its ``search_tsv`` column.
    :param table: the FTS table's name (the same in both).
    :param regconfig: the configuration to search with (default: the column's own).
    :param query_texts: the DBA's queries (``parse_query`` forms); none: ``count`` drawn from the data.
    :param sample_rows: rows read to draw queries from.
    """
    started = time.perf_counter()
    asked = [parse_query(t) for t in query_texts]
    if count <= 0 or sample_rows <= 0:
        raise ParityError("count and sample_rows must be positive")
    with _open_sqlite(sqlite_path) as src:
        info = _fts_info(src, table)
        default, column_cfg = _pg_settings(conn, schema, table)
        cfg = regconfig or column_cfg or default
        if not _regconfig_exists(conn, cfg):
            raise ParityError(f"text search configuration {cfg!r} does not exist in the target (try 'simple' or "
                              "'english')")
        wanted = asked or sample_queries(_sample_texts(src, info, sample_rows), count)
        vector = (sql.Identifier("t", TSV_COLUMN) if cfg == column_cfg else
                  sql.SQL("to_tsvector({}::regconfig, {})").format(sql.Literal(cfg), _pg_document(info)))
        results = [_one(src, conn, info, schema, vector, cfg, q) for q in wanted]
    return ParityReport(
        sqlite_table=table, pg_table=f"{schema}.{table}", regconfig=cfg, column_regconfig=column_cfg,
        default_text_search_config=default, tokenizer=info.tokenize or "unicode61", sampled=not asked,
        queries=tuple(results), advice=tuple(advice(results, cfg, column_cfg, default, info.tokenize)),
        seconds=round(time.perf_counter() - started, 3),
    )


class _open_sqlite:
    def __init__(self, path: Path | str) -> None:
        p = Path(path)
        if not p.is_file():
            raise ParityError(f"SQLite file {p} does not exist")
        self.conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


def _fts_info(src: sqlite3.Connection, table: str) -> FtsInfo:
    row = src.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    info = parse_fts(table, row[0] if row else None)
    if info is None:
        raise ParityError(f"{table!r} is not an FTS table of the SQLite file")
    if info.module != "fts5":
        raise ParityError(f"{table!r} is an {info.module} table: the parity check reads FTS5 MATCH only")
    return info


def _pg_settings(conn: psycopg.Connection, schema: str, table: str) -> tuple[str, str | None]:
    default, expression = conn.execute(queries.get("health_parity_settings"),  # type: ignore[misc]
                                       {"schema": schema, "table": table, "column": TSV_COLUMN}).fetchone()
    if expression is None:
        raise ParityError(f"{schema}.{table} has no {TSV_COLUMN} column in the target: copy the FTS table first "
                          "(ops copy ... --fts-contentful copy)")
    m = _CONFIG.search(expression)
    return default, (m.group(1) if m else None)


def _regconfig_exists(conn: psycopg.Connection, cfg: str) -> bool:
    return conn.execute(queries.get("copy_regconfig_check"), {"regconfig": cfg}).fetchone() is not None


def _pg_document(info: FtsInfo) -> sql.Composable:
    return sql.SQL(" || ' ' || ").join(sql.SQL("coalesce({}, '')").format(sql.Identifier("t", c))
                                       for c in info.columns)


def _sample_texts(src: sqlite3.Connection, info: FtsInfo, rows: int) -> list[str]:
    total = src.execute(sql.SQL("SELECT max(rowid) FROM {}").format(sql.Identifier(info.table)).as_string(None)
                        ).fetchone()[0] or 0
    text = sql.SQL(queries.get("health_parity_sqlite_sample")).format(
        table=sql.Identifier(info.table), document=document(info.columns)).as_string(None)
    return [r[0] for r in src.execute(text, (max(1, total // rows), rows))]


def _one(src: sqlite3.Connection, conn: psycopg.Connection, info: FtsInfo, schema: str, vector: sql.Composable,
         cfg: str, q: ParityQuery) -> QueryParity:
    params = {"kind": q.kind, "cfg": cfg, "text": q.text}
    t0 = time.perf_counter()
    try:
        lite = {r[0] for r in src.execute(
            sql.SQL(queries.get("health_parity_sqlite_keys")).format(table=sql.Identifier(info.table))
            .as_string(None), (q.fts5(),))}
    except sqlite3.OperationalError as exc:
        raise ParityError(f"query {q.label!r} in SQLite: {exc}") from None
    t1 = time.perf_counter()
    pg = {r[0] for r in conn.execute(sql.SQL(queries.get("health_parity_pg_keys")).format(
        table=sql.Identifier(schema, info.table), vector=vector), params)}
    t2 = time.perf_counter()
    tsq = conn.execute(queries.get("health_parity_tsquery"), params).fetchone()[0]  # type: ignore[index]
    only_l, only_p = sorted(lite - pg), sorted(pg - lite)
    union = len(lite | pg)
    return QueryParity(
        query=q, fts5=q.fts5(), tsquery=tsq, sqlite_count=len(lite), pg_count=len(pg), both=len(lite & pg),
        jaccard=round(len(lite & pg) / union, 4) if union else 1.0,
        only_sqlite=_examples(src, info, only_l), only_pg=_examples(src, info, only_p),
        only_sqlite_count=len(only_l), only_pg_count=len(only_p),
        sqlite_ms=round((t1 - t0) * 1000, 3), pg_ms=round((t2 - t1) * 1000, 3),
        causes=tuple(causes(q, tsq, len(only_l), len(only_p), info.tokenize)),
    )


def _examples(src: sqlite3.Connection, info: FtsInfo, keys: list[int]) -> tuple[Example, ...]:
    text = sql.SQL("SELECT {} FROM {} WHERE rowid = ?").format(
        document(info.columns), sql.Identifier(info.table)).as_string(None)
    out = []
    for k in keys[:EXAMPLES]:
        row = src.execute(text, (k,)).fetchone()
        out.append(Example(key=int(k), text=" ".join(str(row[0] if row else "").split())[:160]))
    return tuple(out)


def causes(q: ParityQuery, tsquery: str, only_sqlite: int, only_pg: int, tokenize: str) -> list[str]:
    """The usual reasons for the differences of one query, judged from the tsquery PostgreSQL built.

    >>> causes(ParityQuery("term", "the"), "", 3, 0, "")
    ['stop words: the configuration drops every word of this query, so PostgreSQL finds nothing']
    >>> causes(ParityQuery("term", "running"), "'run'", 0, 2, "")[0].split(":")[0]
    'stemming'
    """
    if not only_sqlite and not only_pg:
        return []
    out = []
    lexemes = re.findall(r"'((?:[^']|'')*)'", tsquery)
    words = [w.lower() for w in _WORD.findall(q.text)]
    if not tsquery.strip():
        return ["stop words: the configuration drops every word of this query, so PostgreSQL finds nothing"]
    if len(lexemes) < len(words) and q.kind != "prefix":
        out.append(f"stop words: the configuration dropped {len(words) - len(lexemes)} of the words "
                   f"({tsquery}), so PostgreSQL asks for less than FTS5")
    if any(lx not in words for lx in lexemes):
        out.append(f"stemming: PostgreSQL searches the stems {tsquery}, so it also finds other forms of the words "
                   "(FTS5's unicode61 tokenizer does not stem unless 'porter' is set)")
    if "porter" in tokenize and only_sqlite:
        out.append("stemming: the FTS5 table uses the porter tokenizer, which finds English word forms a "
                   "configuration without stemming ('simple') does not")
    if q.kind == "prefix":
        out.append("prefix: FTS5 matches tokens starting with the text as written; PostgreSQL matches lexemes "
                   "starting with the text after its configuration normalised it")
    if not out:
        out.append("tokenizer: unicode61 and PostgreSQL's parser split text differently (hyphenated words, "
                   "e-mail addresses and URLs, numbers with dots, diacritics that unicode61 removes)")
    return out


def advice(results: Sequence[QueryParity], cfg: str, column_cfg: str | None, default: str, tokenize: str
           ) -> list[str]:
    """What to do, for the whole table: which configuration matches FTS5 and what the application must name."""
    out = []
    differ = [r for r in results if not r.same]
    stems = any("stemming: PostgreSQL" in c for r in differ for c in r.causes)
    if not differ:
        out.append(f"All {len(results)} queries find the same rows with configuration {cfg!r}.")
    elif stems and "porter" not in tokenize:
        out.append(f"{len(differ)} of {len(results)} queries differ; {cfg!r} stems and drops stop words while the "
                   "FTS5 table did neither: to find what FTS5 found, use 'simple' (rerun the check with it, and "
                   "build the column with it: --fts-regconfig simple).")
    elif "porter" in tokenize:
        out.append(f"{len(differ)} of {len(results)} queries differ; the FTS5 table stems with porter: "
                   "'english' is the closer configuration.")
    else:
        out.append(f"{len(differ)} of {len(results)} queries differ; see each query's causes.")
    if column_cfg and cfg != column_cfg:
        out.append(f"The column was built with {column_cfg!r}; this check searched with {cfg!r} computed on the "
                   "fly (no index). To adopt it, rebuild the generated column with that configuration.")
    bare = default.split(".")[-1]
    if column_cfg and bare != column_cfg:
        out.append(f"default_text_search_config is {default!r} but the column uses {column_cfg!r}: queries that "
                   f"omit the configuration (plainto_tsquery(text)) search with {bare!r} and miss rows. Name it "
                   f"in every query (plainto_tsquery('{column_cfg}', ...)) or set it for the application's role: "
                   f"ALTER ROLE app SET default_text_search_config = 'pg_catalog.{column_cfg}'.")
    return out
