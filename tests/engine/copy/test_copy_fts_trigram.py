"""A contentful FTS5 table with ``tokenize='trigram'`` gets pg_trgm GIN indexes, or the DBA is told what to run.

Its rows exist only in the FTS table, so the copy creates a regular table
with a tsvector; the trigram tokenizer served LIKE/substring searches, which
in PostgreSQL need ``gin_trgm_ops`` indexes. The copy creates the extension
when the role may; otherwise the pre-flight says so and gives the statements.
"""

from __future__ import annotations

import uuid

import psycopg
from copy_helpers import pg_exec
from psycopg import sql

from migrations_ops.copy import CopyOptions, copy_database, preflight
from migrations_ops.target import TargetConn

DDL = "CREATE VIRTUAL TABLE docs_fts USING fts5(subject, body, tokenize='trigram');"
ROWS = {"docs_fts": [(f"subject {i}", f"body text number {i} with zebra{i % 7}") for i in range(200)]}


def test_it_creates_the_extension_and_a_trgm_index_per_column(make_sqlite, target_db) -> None:
    path = make_sqlite(DDL, ROWS)
    report = preflight(path, target_db)
    [(name, ddl)] = report.fts_tables
    assert name == "docs_fts" and any("CREATE EXTENSION IF NOT EXISTS pg_trgm" in s for s in ddl)
    assert sum("gin_trgm_ops" in s for s in ddl) == 2
    assert not [p for p in report.problems if "pg_trgm" in p]
    summary = copy_database(path, target_db, CopyOptions(), copy_id="trgm")
    assert summary.outcome[0] == "succeeded" and summary.rows_imported == 200
    assert pg_exec(target_db, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == [(1,)]
    indexes = pg_exec(target_db, "SELECT indexdef FROM pg_indexes WHERE tablename = 'docs_fts' AND indexdef LIKE "
                                 "'%gin_trgm_ops%' ORDER BY indexname")
    assert [("subject" in d, "body" in d) for (d,) in indexes] == [(False, True), (True, False)]
    pg_exec(target_db, "SET enable_seqscan = off")
    assert pg_exec(target_db, "SELECT count(*) FROM docs_fts WHERE body LIKE '%zebra3%'") == [(sum(i % 7 == 3 for i in range(200)),)]


def test_a_role_that_cannot_create_pg_trgm_is_told_what_to_run(make_sqlite, target_db, pg_admin) -> None:
    path = make_sqlite(DDL, ROWS)
    role, password = f"mopt_trgm_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with psycopg.connect(**target_db.connect_kwargs("mop-tests"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        c.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(target_db.dbname),
                                                                      sql.Identifier(role)))
    try:
        limited = TargetConn(target_db.host, target_db.dbname, role, password, target_db.port, target_db.sslmode)
        report = preflight(path, limited)
        [line] = [p for p in report.problems if "pg_trgm" in p]
        assert "docs_fts: FTS5 tokenizer trigram, but pg_trgm is not installed and this role may not create it" in line
        assert "CREATE EXTENSION IF NOT EXISTS pg_trgm;" in line and line.count("gin_trgm_ops") == 2
    finally:
        with psycopg.connect(**target_db.connect_kwargs("mop-tests"), autocommit=True) as c:
            c.execute(sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(sql.Identifier(role), sql.Identifier(role)))
