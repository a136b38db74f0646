-- returns: one row: whether pg_stat_statements is installed in this database (its version), and whether the
-- server loads it (shared_preload_libraries); both are needed before its view can be read. Read through
-- pg_settings, which hides the setting (NULL here) from a role without pg_read_all_settings, where
-- current_setting() would fail the whole reading.
SELECT
    (SELECT e.extversion::text FROM pg_extension AS e WHERE e.extname = 'pg_stat_statements') AS installed_version,
    (SELECT a.name IS NOT NULL FROM pg_available_extensions AS a WHERE a.name = 'pg_stat_statements')
        IS TRUE AS available,
    (SELECT 'pg_stat_statements' = ANY (string_to_array(replace(ps.setting, ' ', ''), ','))
     FROM pg_settings AS ps WHERE ps.name = 'shared_preload_libraries') AS preloaded
