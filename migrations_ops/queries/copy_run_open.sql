-- returns: at most one row (copy_id, started_at text): the oldest copy run still 'running' on this target,
-- the one a new copy must wait for (or abandon).
SELECT copy_id, started_at::text AS started_at
FROM mop.copy_run
WHERE status = 'running'
ORDER BY started_at
LIMIT 1
