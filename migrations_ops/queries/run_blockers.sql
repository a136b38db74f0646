-- returns: one row (pid, application_name, state, query, usename) per session blocking backend
-- %(pid)s, and only while that backend waits on a heavyweight lock (pg_blocking_pids is not called
-- otherwise); oldest session first. Polled by the runner's blocker watch during a migration.
-- params: pid (int)
SELECT b.pid, b.application_name, b.state, b.query, b.usename
FROM pg_stat_activity AS w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
JOIN pg_stat_activity AS b ON b.pid = bp.pid
WHERE w.pid = %(pid)s AND w.wait_event_type = 'Lock'
ORDER BY b.backend_start
