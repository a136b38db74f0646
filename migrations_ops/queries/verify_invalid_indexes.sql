-- returns: indexes of schema %(schema)s that are not valid (a failed or running CREATE INDEX
-- CONCURRENTLY): table_name, index_name, definition, in_progress (a build is running now)
SELECT c.relname AS table_name,
       ic.relname AS index_name,
       pg_get_indexdef(i.indexrelid) AS definition,
       EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.index_relid = i.indexrelid) AS in_progress
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND NOT i.indisvalid
ORDER BY c.relname, ic.relname
