-- returns: nothing; a pg_trgm GIN index, the counterpart of an FTS5 'trigram' tokenizer (LIKE/ILIKE/similarity).
-- Needs CREATE EXTENSION pg_trgm. Template: index, table, column.
CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin ({column} gin_trgm_ops)
