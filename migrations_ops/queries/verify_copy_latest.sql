-- returns: at most one row (copy_id) - the latest copy into this target from this source file that is
-- no longer running (finished, or abandoned: the rows it loaded stay), newest start first.
-- params: source (the SQLite path as the copy recorded it)
SELECT copy_id
FROM mop.copy_run
WHERE source = %(source)s AND status <> 'running'
ORDER BY started_at DESC
LIMIT 1
