-- returns: user tables that need a look: never analyzed (neither ANALYZE nor autovacuum) while holding rows
-- or changes, or with a dead-row share of at least min_dead_share (and at least min_dead_rows dead rows);
-- with their live and dead rows, dead share and the last analyze time. Parameters: min_dead_share,
-- min_dead_rows, limit.
SELECT
    s.schemaname::text AS schema,
    s.relname::text AS "table",
    s.n_live_tup::bigint AS live_rows,
    s.n_dead_tup::bigint AS dead_rows,
    CASE WHEN s.n_live_tup + s.n_dead_tup > 0
         THEN (s.n_dead_tup::float8 / (s.n_live_tup + s.n_dead_tup)) END AS dead_share,
    s.n_mod_since_analyze::bigint AS modified_since_analyze,
    greatest(s.last_analyze, s.last_autoanalyze) AS last_analyzed,
    (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL) AS never_analyzed
FROM pg_stat_user_tables AS s
WHERE (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL
       AND (s.n_live_tup > 0 OR s.n_mod_since_analyze > 0 OR s.n_tup_ins > 0))
   OR (s.n_dead_tup >= %(min_dead_rows)s
       AND s.n_dead_tup::float8 / nullif(s.n_live_tup + s.n_dead_tup, 0) >= %(min_dead_share)s)
ORDER BY never_analyzed DESC, dead_share DESC NULLS LAST, s.schemaname, s.relname
LIMIT %(limit)s
