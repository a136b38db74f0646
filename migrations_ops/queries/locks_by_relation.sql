-- returns: pg_locks of the current database grouped by what is locked (a relation's name, else the
-- lock type: transactionid, advisory, tuple, ...), mode and whether granted, with the pids holding or
-- waiting. Our own session and the virtualxid lock every transaction holds on itself are left out.
SELECT
    coalesce(c.relname::text, l.locktype) AS relation,
    n.nspname::text AS schema,
    l.locktype,
    l.mode,
    l.granted,
    count(*)::int AS locks,
    array_agg(DISTINCT l.pid ORDER BY l.pid) AS pids
FROM pg_locks AS l
LEFT JOIN pg_class AS c ON c.oid = l.relation
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
LEFT JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE l.pid <> pg_backend_pid()
  AND l.locktype <> 'virtualxid'
  AND (l.database IS NULL OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
  AND l.pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())
GROUP BY 1, 2, 3, 4, 5
ORDER BY bool_or(NOT l.granted) DESC, 1, 5 DESC, 4
