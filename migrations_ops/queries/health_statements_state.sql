-- returns: one row: whether pg_stat_statements is installed in this database (its version), and whether the
-- server loads it (shared_preload_libraries); both are needed before its view can be read.
SELECT
    (SELECT e.extversion::text FROM pg_extension AS e WHERE e.extname = 'pg_stat_statements') AS installed_version,
    (SELECT a.name IS NOT NULL FROM pg_available_extensions AS a WHERE a.name = 'pg_stat_statements')
        IS TRUE AS available,
    'pg_stat_statements' = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))
        AS preloaded
