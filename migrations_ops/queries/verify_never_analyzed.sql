-- returns: tables of schema %(schema)s never analyzed (by hand or by autovacuum):
-- table_name, n_live_tup (the statistics' row estimate; may lag, so the caller also looks for a row)
SELECT relname AS table_name, n_live_tup
FROM pg_stat_user_tables
WHERE schemaname = %(schema)s AND last_analyze IS NULL AND last_autoanalyze IS NULL
ORDER BY relname
