-- returns: nothing; the GIN index that makes a tsvector column searchable. Template: index, table, column.
CREATE INDEX IF NOT EXISTS {index} ON {table} USING gin ({column})
