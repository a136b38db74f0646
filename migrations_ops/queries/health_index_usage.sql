-- returns: the user indexes with their scans since the stats reset (cumulative), size and whether they back
-- a primary key, unique or exclusion constraint: the never-scanned ones that back no constraint first (the
-- candidates to drop), then the most scanned. The index count of the database rides on every row.
-- Parameter: limit (of each part).
WITH idx AS MATERIALIZED (
    SELECT
        s.schemaname::text AS schema,
        s.relname::text AS "table",
        s.indexrelname::text AS "index",
        s.indexrelid,
        s.idx_scan::bigint AS scans,
        (i.indisprimary OR i.indisunique OR i.indisexclusion) AS backs_constraint
    FROM pg_stat_user_indexes AS s
    JOIN pg_index AS i ON i.indexrelid = s.indexrelid
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
