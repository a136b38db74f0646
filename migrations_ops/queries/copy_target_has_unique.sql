-- returns: one row (has_unique): whether the table has any unique index (PRIMARY KEY, UNIQUE constraint or a
-- plain CREATE UNIQUE INDEX, partial ones excluded). Without one, appending a file's rows to a table that
-- already holds them duplicates them instead of rejecting them.
-- params: table_oid
SELECT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = %(table_oid)s AND i.indisunique AND i.indpred IS NULL)
       AS has_unique
