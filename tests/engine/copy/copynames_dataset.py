"""A SQLite file like the public ones DBAs meet, and its PostgreSQL target (shared by engine and portal tests).

Mixed-case names (``Album`` -> ``album``), a space (``Order Details``), a
quote (``we"ird``), 3 views and a trigger, a contentful FTS5 table
(``notes_fts``: its rows exist nowhere else), an external-content FTS5 index
(``docs_ext`` over ``docs``) and a trigram one (``docs_tri``), AUTOINCREMENT
(``sqlite_sequence``) and ANALYZE statistics (``sqlite_stat1``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SOURCE_DDL = """
CREATE TABLE "Album" (AlbumId INTEGER PRIMARY KEY, Title TEXT NOT NULL);
CREATE TABLE "Order Details" (id INTEGER PRIMARY KEY, "Unit Price" REAL, note TEXT);
CREATE TABLE "we""ird" (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE docs (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, body TEXT);
CREATE VIRTUAL TABLE notes_fts USING fts5(subject, body);
CREATE VIRTUAL TABLE docs_ext USING fts5(title, body, content='docs', content_rowid='id');
CREATE VIRTUAL TABLE docs_tri USING fts5(title, content='docs', content_rowid='id', tokenize='trigram');
CREATE VIEW v_albums AS SELECT Title FROM "Album" ORDER BY Title;
CREATE VIEW "v order totals" AS SELECT count(*) AS n, sum("Unit Price") AS total FROM "Order Details";
CREATE VIEW v_docs AS SELECT d.title FROM docs d JOIN docs_ext e ON e.rowid = d.id;
CREATE TRIGGER docs_ai AFTER INSERT ON docs BEGIN
  INSERT INTO docs_ext(rowid, title, body) VALUES (new.id, new.title, new.body);
  INSERT INTO docs_tri(rowid, title) VALUES (new.id, new.title);
END;
"""

TARGET_DDL = """
CREATE TABLE album (albumid bigint PRIMARY KEY, title text NOT NULL);
CREATE TABLE "order details" (id bigint PRIMARY KEY, "unit price" numeric(10, 2), note text);
CREATE TABLE "we""ird" (id bigint PRIMARY KEY, v text);
CREATE TABLE docs (id bigserial PRIMARY KEY, title text, body text);
"""

ALBUMS = [(1, "For Those About To Rock"), (2, "Balls to the Wall"), (3, "Restless and Wild")]
ORDERS = [(10, 14.0, "a"), (11, 9.8, None)]
WEIRD = [(1, "x")]
DOCS = [("Migrating billing", "sqlite to postgres"), ("Zebra crossing", "stripes"), ("Full text", "tsvector gin")]
NOTES = [("meeting", "the zebra escaped the zoo"), ("todo", "buy milk"), ("idea", "search with tsvector")]
SOURCE_TABLES = {"Album": len(ALBUMS), "Order Details": len(ORDERS), 'we"ird': len(WEIRD), "docs": len(DOCS),
                 "notes_fts": len(NOTES)}
MAPPING = {"Album": "album", "Order Details": "order details", 'we"ird': 'we"ird', "docs": "docs",
           "notes_fts": "notes_fts"}
VIEWS = ("v_albums", "v order totals", "v_docs")


def build(path: Path) -> Path:
    """Write the SQLite file; rows inserted through the trigger fill both external FTS indexes."""
    conn = sqlite3.connect(path)
    conn.executescript(SOURCE_DDL)
    with conn:
        conn.executemany('INSERT INTO "Album" VALUES (?, ?)', ALBUMS)
        conn.executemany('INSERT INTO "Order Details" VALUES (?, ?, ?)', ORDERS)
        conn.executemany('INSERT INTO "we""ird" VALUES (?, ?)', WEIRD)
        conn.executemany("INSERT INTO docs (title, body) VALUES (?, ?)", DOCS)
        conn.executemany("INSERT INTO notes_fts (subject, body) VALUES (?, ?)", NOTES)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return path
