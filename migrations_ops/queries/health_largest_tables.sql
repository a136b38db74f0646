-- returns: the largest user tables (chosen by pg_class.relpages, so only the chosen few have their files
-- sized and their statistics read): schema, table, total bytes (heap, indexes, TOAST), live and dead rows,
-- sequential and index scans (cumulative), and when each was last analyzed (by hand or by autovacuum).
-- Parameter: limit.
WITH biggest AS MATERIALIZED (
    SELECT c.oid, c.relpages, n.nspname, c.relname
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%'
    ORDER BY c.relpages DESC, c.oid
    LIMIT %(limit)s
)
SELECT
    b.nspname::text AS schema,
    b.relname::text AS "table",
    pg_total_relation_size(b.oid)::bigint AS total_bytes,
    b.relpages::bigint AS pages,
    pg_stat_get_live_tuples(b.oid)::bigint AS live_rows,
    pg_stat_get_dead_tuples(b.oid)::bigint AS dead_rows,
    pg_stat_get_numscans(b.oid)::bigint AS seq_scan,
    pg_stat_get_tuples_returned(b.oid)::bigint AS seq_tup_read,
    coalesce((SELECT sum(pg_stat_get_numscans(i.indexrelid)) FROM pg_index AS i WHERE i.indrelid = b.oid), 0)::bigint
        AS idx_scan,
    greatest(pg_stat_get_last_analyze_time(b.oid), pg_stat_get_last_autoanalyze_time(b.oid)) AS last_analyzed
FROM biggest AS b
ORDER BY total_bytes DESC, schema, "table"
