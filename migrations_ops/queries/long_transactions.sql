-- returns: sessions of the current database whose transaction has been open for at least
-- %(min_seconds)s seconds, oldest first (pg_stat_activity columns and ages in seconds).
-- params: min_seconds (float), limit (int)
SELECT
    a.pid,
    a.backend_start,
    a.datname::text AS datname,
    a.usename::text AS usename,
    a.application_name,
    host(a.client_addr) AS client_addr,
    a.backend_type,
    a.state,
    a.xact_start,
    extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS xact_seconds,
    CASE WHEN a.state = 'active'
        THEN extract(epoch FROM clock_timestamp() - a.query_start)::float8 END AS query_seconds,
    extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS state_seconds,
    a.wait_event_type,
    a.wait_event,
    age(a.backend_xmin) AS xmin_age,
    coalesce(a.query, '') AS query
FROM pg_stat_activity AS a
WHERE a.datname = current_database()
  AND a.pid <> pg_backend_pid()
  AND a.xact_start <= clock_timestamp() - make_interval(secs => %(min_seconds)s)
ORDER BY a.xact_start
LIMIT %(limit)s
