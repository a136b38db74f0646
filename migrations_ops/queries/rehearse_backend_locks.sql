-- returns: rows (relation, mode) of the relation locks granted to the backend named %(app)s in this database,
--          on relations other sessions can see (a table the step itself creates blocks nobody).
-- params: app
SELECT n.nspname || '.' || c.relname, l.mode
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.application_name = %(app)s AND l.locktype = 'relation' AND l.granted
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
