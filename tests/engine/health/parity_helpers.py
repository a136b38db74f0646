"""A generated FTS5 table of English and Japanese text, and its copy made as the copy makes it."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import psycopg

from migrations_ops.copy.fts import create_contentful_table, parse_fts
from migrations_ops.target import TargetConn

ENGLISH = ("the cats are running across gardens while a dog runs after them; "
           "searching indexes quickly helps the searcher find connected connections").split()
JAPANESE = ["東京", "検索", "全文検索", "データベース", "移行", "テスト"]
CREATE = "CREATE VIRTUAL TABLE docs USING fts5(title, body)"


def make_fts(path: Path, rows: int = 400, seed: int = 7) -> list[tuple[int, str, str]]:
    """Write ``docs`` (FTS5, unicode61) with English sentences and space-separated Japanese words."""
    rnd = random.Random(seed)
    data = []
    for i in range(1, rows + 1):
        words = rnd.sample(ENGLISH, 8) + ([rnd.choice(JAPANESE)] if i % 3 == 0 else [])
        data.append((i, " ".join(rnd.sample(ENGLISH, 2)), " ".join(words)))
    with sqlite3.connect(path) as c:
        c.execute(CREATE)
        c.executemany("INSERT INTO docs (rowid, title, body) VALUES (?, ?, ?)", data)
    return data


def copy_to(target: TargetConn, data: list[tuple[int, str, str]], regconfig: str = "simple") -> None:
    """The contentful copy: a regular table with a generated tsvector and its GIN index, then the rows."""
    info = parse_fts("docs", CREATE)
    assert info is not None
    with psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True) as c:
        create_contentful_table(c, "public", info, regconfig)
        with c.cursor() as cur:
            cur.executemany("INSERT INTO public.docs (rowid, title, body) VALUES (%s, %s, %s)", data)
