-- returns: the sessions among %(pids)s that still wait on a lock held or requested by another
-- session (pid, backend_start, blocked_by). Used after an action to tell whether it cleared.
-- params: pids (int[])
SELECT w.pid, w.backend_start, pg_blocking_pids(w.pid) AS blocked_by
FROM pg_stat_activity AS w
WHERE w.pid = ANY(%(pids)s)
  AND w.wait_event_type = 'Lock'
  AND cardinality(CASE WHEN w.wait_event_type = 'Lock' THEN pg_blocking_pids(w.pid) END) > 0
