-- returns: one row: client connections of the whole server against max_connections, then for the
-- current database the sessions by state (active, idle, idle in transaction, waiting on a lock,
-- blocked by another session), the longest transaction, the longest running query and the oldest
-- xmin (as sessions.sql defines xmin_age: backend_xmin, else backend_xid), each with its pid.
-- The calling session is left out.
-- pg_blocking_pids() is evaluated only for sessions waiting on a lock.
WITH sessions AS MATERIALIZED (
    SELECT
        a.pid,
        a.state,
        a.datname,
        a.xact_start,
        a.query_start,
        a.wait_event_type,
        age(coalesce(a.backend_xmin, a.backend_xid)) AS xmin_age,
        CASE WHEN a.wait_event_type = 'Lock' THEN cardinality(pg_blocking_pids(a.pid)) END AS n_blockers
    FROM pg_stat_activity AS a
    WHERE a.backend_type = 'client backend'
      AND a.datname = current_database()
      AND a.pid <> pg_backend_pid()
),
longest_xact AS (
    SELECT s.pid, extract(epoch FROM clock_timestamp() - s.xact_start)::float8 AS seconds
    FROM sessions AS s
    WHERE s.xact_start IS NOT NULL
    ORDER BY s.xact_start
    LIMIT 1
),
longest_query AS (
    SELECT s.pid, extract(epoch FROM clock_timestamp() - s.query_start)::float8 AS seconds
    FROM sessions AS s
    WHERE s.state = 'active' AND s.query_start IS NOT NULL
    ORDER BY s.query_start
    LIMIT 1
),
oldest_xmin AS (
    SELECT s.pid, s.xmin_age
    FROM sessions AS s
    WHERE s.xmin_age IS NOT NULL
    ORDER BY s.xmin_age DESC
    LIMIT 1
)
SELECT
    current_database()::text AS datname,
    (SELECT count(*) FROM pg_stat_activity AS c WHERE c.backend_type = 'client backend')::int AS connections,
    current_setting('max_connections')::int AS max_connections,
    count(*)::int AS sessions,
    (count(*) FILTER (WHERE s.state = 'active'))::int AS active,
    (count(*) FILTER (WHERE s.state = 'idle'))::int AS idle,
    (count(*) FILTER (WHERE s.state LIKE 'idle in transaction%'))::int AS idle_in_transaction,
    (count(*) FILTER (WHERE s.wait_event_type = 'Lock'))::int AS waiting,
    (count(*) FILTER (WHERE s.n_blockers > 0))::int AS blocked,
    (SELECT lx.seconds FROM longest_xact AS lx) AS longest_xact_seconds,
    (SELECT lx.pid FROM longest_xact AS lx) AS longest_xact_pid,
    (SELECT lq.seconds FROM longest_query AS lq) AS longest_query_seconds,
    (SELECT lq.pid FROM longest_query AS lq) AS longest_query_pid,
    (SELECT ox.xmin_age FROM oldest_xmin AS ox) AS oldest_xmin_age,
    (SELECT ox.pid FROM oldest_xmin AS ox) AS oldest_xmin_pid
FROM sessions AS s
