-- returns: every session of the current database but our own, with its ages in seconds; the
-- long-transaction, idle-in-transaction and xmin-holder lists are cut from this one read (the
-- rows are bounded by max_connections). xmin_age is age(backend_xmin), or age(backend_xid) for a
-- writer without a snapshot: either holds back what VACUUM may remove.
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
    age(coalesce(a.backend_xmin, a.backend_xid)) AS xmin_age,
    coalesce(a.query, '') AS query
FROM pg_stat_activity AS a
WHERE a.datname = current_database()
  AND a.pid <> pg_backend_pid()
