-- returns: (SQLite) the text of up to N rows of an FTS table, spread over it by rowid, to draw sample
-- search terms from. Template: table, document (its columns joined). Params: step, limit.
SELECT {document} FROM {table} WHERE rowid % ? = 0 ORDER BY rowid LIMIT ?
