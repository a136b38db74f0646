"""Tables and columns named like keywords, with spaces, quotes and Japanese characters."""

from __future__ import annotations

import sqlite3

from verify_dataset import pg_connect

from migrations_ops.verify import PASS, verify

PG = '''
CREATE TABLE "order" (id bigint PRIMARY KEY, "user name" text, "we""ird" integer);
CREATE TABLE "請求" ("番号" integer PRIMARY KEY, "order" bigint REFERENCES "order" (id), "金額" numeric(10, 2));
'''
LITE = '''
CREATE TABLE "order" (id INTEGER PRIMARY KEY, "user name" TEXT, "we""ird" INTEGER);
CREATE TABLE "請求" ("番号" INTEGER PRIMARY KEY, "order" INTEGER REFERENCES "order" (id), "金額" REAL);
INSERT INTO "order" VALUES (1, 'ann', 1), (2, 'bob''s', NULL);
INSERT INTO "請求" VALUES (10, 1, 1.5), (11, 2, 2.25);
'''


def test_it_verifies_tables_with_nasty_names(target_db, tmp_path):
    src = tmp_path / "names.sqlite"
    with sqlite3.connect(src) as lite:
        lite.executescript(LITE)
    with pg_connect(target_db) as pg:
        pg.execute(PG)
        pg.execute('''INSERT INTO "order" VALUES (1, 'ann', 1), (2, 'bob''s', NULL)''')
        pg.execute('''INSERT INTO "請求" VALUES (10, 1, 1.50), (11, 2, 2.25)''')
        pg.execute("ANALYZE")
    assert verify(target_db, src).status == PASS
    with pg_connect(target_db) as pg:
        pg.execute('''UPDATE "請求" SET "金額" = 2.26 WHERE "番号" = 11''')
        pg.execute('''ALTER TABLE "請求" DROP CONSTRAINT "請求_order_fkey"''')
        pg.execute('''UPDATE "請求" SET "order" = 3 WHERE "番号" = 10''')
        pg.execute('''ALTER TABLE "請求" ADD CONSTRAINT "請求_order_fkey" FOREIGN KEY ("order") REFERENCES "order" (id)
                      NOT VALID''')
    report = verify(target_db, src)
    changed = [f for f in report.all_findings() if f.check in ("changed", "orphans") and f.status != PASS]
    assert [(f.check, f.table, f.columns, f.samples) for f in changed] == [
        ("changed", "請求", ("order", "金額"), ({"key": 10, "columns": ["order"]}, {"key": 11, "columns": ["金額"]})),
        ("orphans", "請求", ("order",), ({"key": 10, "references": 3},)),
    ]
