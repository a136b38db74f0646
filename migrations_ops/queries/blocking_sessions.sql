-- returns: one row per session that waits on a lock in the current database or blocks one that
-- does: the session's pg_stat_activity columns, blocked_by (pg_blocking_pids, empty for a root
-- blocker; 0 stands for a prepared transaction) and, for a waiting session, the lock it waits for
-- (lock_mode, lock_type, relation). A row wait (lock_type transactionid) names the relation of
-- the tuple lock the waiter holds. The calling session is left out.
-- pg_blocking_pids() is evaluated only for sessions waiting on a lock; pg_locks is read only if
-- some session waits.
WITH waiting AS MATERIALIZED (
    SELECT
        w.pid,
        CASE WHEN w.wait_event_type = 'Lock' THEN pg_blocking_pids(w.pid) END AS blocked_by
    FROM pg_stat_activity AS w
    WHERE w.wait_event_type = 'Lock'
      AND w.datname = current_database()
      AND w.pid <> pg_backend_pid()
),
involved AS (
    SELECT wt.pid FROM waiting AS wt
    UNION
    SELECT unnest(wt.blocked_by) FROM waiting AS wt
),
waiter_locks AS MATERIALIZED (
    SELECT l.pid, l.granted, l.mode, l.locktype, l.relation, l.database
    FROM pg_locks AS l
    WHERE EXISTS (SELECT 1 FROM waiting)
      AND l.pid IN (SELECT wt.pid FROM waiting AS wt)
      AND (NOT l.granted OR l.locktype = 'tuple')
),
awaited AS (
    SELECT DISTINCT ON (wl.pid) wl.pid, wl.mode, wl.locktype, wl.relation, wl.database
    FROM waiter_locks AS wl
    WHERE NOT wl.granted
    ORDER BY wl.pid, wl.relation IS NULL
),
row_relation AS (
    SELECT DISTINCT ON (wl.pid) wl.pid, wl.relation, wl.database
    FROM waiter_locks AS wl
    WHERE wl.granted AND wl.locktype = 'tuple'
    ORDER BY wl.pid
)
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
    coalesce(a.query, '') AS query,
    coalesce(wt.blocked_by, '{}'::int[]) AS blocked_by,
    aw.mode AS lock_mode,
    aw.locktype AS lock_type,
    CASE
        WHEN coalesce(aw.relation, rr.relation) IS NULL THEN NULL
        WHEN coalesce(aw.database, rr.database) IN (0, (SELECT d.oid FROM pg_database AS d
                                                        WHERE d.datname = current_database()))
            THEN coalesce(aw.relation, rr.relation)::regclass::text
        ELSE coalesce(aw.relation, rr.relation)::text
    END AS relation
FROM pg_stat_activity AS a
JOIN involved AS i ON i.pid = a.pid
LEFT JOIN waiting AS wt ON wt.pid = a.pid
LEFT JOIN awaited AS aw ON aw.pid = a.pid
LEFT JOIN row_relation AS rr ON rr.pid = a.pid
ORDER BY a.pid
