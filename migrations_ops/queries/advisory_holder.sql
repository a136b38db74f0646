-- returns: at most one row (pid, application_name, state, query) of the backend holding the
-- target's advisory lock in the current database; no row when nobody holds it.
-- params: k1 (int, advisory.LOCK_KEY1). The two-int form shows as classid = k1, objid = k2, objsubid = 2.
SELECT l.pid, a.application_name, a.state, a.query
FROM pg_locks AS l
LEFT JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %(k1)s::int4::oid
  AND l.objid = hashtext(current_database())::oid
  AND l.objsubid = 2
ORDER BY l.pid
LIMIT 1
