-- returns: the statements of the current database with the most total execution time (cumulative since
-- pg_stat_statements was reset): queryid, calls, total and mean time in ms, rows and the normalized text
-- (constants replaced by $n, as pg_stat_statements keeps it), cut to 500 characters. Parameter: limit.
-- Needs pg_stat_statements 1.8 or later (PostgreSQL 13+: total_exec_time).
SELECT
    s.queryid::bigint AS queryid,
    sum(s.calls)::bigint AS calls,
    sum(s.total_exec_time)::float8 AS total_ms,
    (sum(s.total_exec_time) / nullif(sum(s.calls), 0))::float8 AS mean_ms,
    sum(s.rows)::bigint AS rows,
    left(min(s.query), 500) AS query
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
  AND s.queryid IS NOT NULL
GROUP BY s.queryid
ORDER BY total_ms DESC
LIMIT %(limit)s
