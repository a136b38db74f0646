-- returns: the sessions among the given pids that still wait on a lock held or requested by
-- another session (pid, backend_start, blocked_by). Used after an action to tell whether it
-- cleared. pg_blocking_pids() is evaluated only for sessions waiting on a lock.
-- params: pids (int[])
WITH waiting AS MATERIALIZED (
    SELECT
        w.pid,
        w.backend_start,
        CASE WHEN w.wait_event_type = 'Lock' THEN pg_blocking_pids(w.pid) END AS blocked_by
    FROM pg_stat_activity AS w
    WHERE w.pid = ANY(%(pids)s)
      AND w.wait_event_type = 'Lock'
)
SELECT wt.pid, wt.backend_start, wt.blocked_by
FROM waiting AS wt
WHERE cardinality(wt.blocked_by) > 0
