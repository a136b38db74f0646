-- returns: the largest user tables (chosen by pg_class.relpages, so only the chosen few have their files
-- sized): schema, table, total bytes (heap, indexes, TOAST), live and dead rows, sequential and index
-- scans (cumulative), and when each was last analyzed (by hand or by autovacuum).
-- Parameter: limit.
WITH biggest AS MATERIALIZED (
    SELECT c.oid, c.relpages
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY c.relpages DESC, c.oid
    LIMIT %(limit)s
)
SELECT
    s.schemaname::text AS schema,
    s.relname::text AS "table",
    pg_total_relation_size(b.oid)::bigint AS total_bytes,
    b.relpages::bigint AS pages,
    s.n_live_tup::bigint AS live_rows,
    s.n_dead_tup::bigint AS dead_rows,
    s.seq_scan::bigint AS seq_scan,
    s.seq_tup_read::bigint AS seq_tup_read,
    coalesce(s.idx_scan, 0)::bigint AS idx_scan,
    greatest(s.last_analyze, s.last_autoanalyze) AS last_analyzed
FROM biggest AS b
JOIN pg_stat_user_tables AS s ON s.relid = b.oid
ORDER BY total_bytes DESC, s.schemaname, s.relname
