-- returns: (SQLite, source file read-only) the rowids of an FTS table's rows that match an FTS5 query, in
-- order. Template: table (the FTS table, named twice as FTS5 wants). Param: the MATCH expression.
SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid
