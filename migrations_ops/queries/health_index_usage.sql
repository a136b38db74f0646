-- returns: the user indexes with their scans since the stats reset (cumulative), size and whether they back
-- a primary key, unique or exclusion constraint: the never-scanned ones that back no constraint first (the
-- candidates to drop), then the most scanned. The index count of the database rides on every row.
-- Reads the scan counters per index (pg_stat_get_numscans) rather than the pg_stat_user_indexes view, and
-- sizes only the indexes listed. Parameter: limit (of each part).
WITH idx AS MATERIALIZED (
    SELECT
        n.nspname::text AS schema,
        t.relname::text AS "table",
        c.relname::text AS "index",
        i.indexrelid,
        pg_stat_get_numscans(i.indexrelid)::bigint AS scans,
        (i.indisprimary OR i.indisunique OR i.indisexclusion) AS backs_constraint
    FROM pg_index AS i
    JOIN pg_class AS c ON c.oid = i.indexrelid
    JOIN pg_class AS t ON t.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = t.relnamespace
    WHERE t.relkind IN ('r', 'p', 'm')
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%%'
),
unused AS (
    SELECT *, true AS unused FROM idx
    WHERE scans = 0 AND NOT backs_constraint
    ORDER BY schema, "table", "index"
    LIMIT %(limit)s
),
busiest AS (
    SELECT *, false AS unused FROM idx
    WHERE scans > 0
    ORDER BY scans DESC, schema, "index"
    LIMIT %(limit)s
)
SELECT
    u.schema, u."table", u."index", u.scans, u.backs_constraint, u.unused,
    pg_relation_size(u.indexrelid)::bigint AS size_bytes,
    (SELECT count(*) FROM idx)::int AS index_count
FROM (SELECT * FROM unused UNION ALL SELECT * FROM busiest) AS u
ORDER BY u.unused DESC, u.scans DESC, u.schema, u."index"
