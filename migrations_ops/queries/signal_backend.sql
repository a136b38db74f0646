-- returns: one row (signalled boolean) if backend %(pid)s still has backend_start
-- %(backend_start)s, is connected to this session's database (a target never reaches the
-- backends of another database on its server) and is not protected (superuser, background
-- process or replication, the portal's own "mop:" sessions, the caller), after sending it {signal} (pg_cancel_backend or
-- pg_terminate_backend); no row otherwise. The checks repeat the engine's so that a pid reused
-- between the look and the signal is never hit.
-- params: pid (int), backend_start (timestamptz); {signal} is a psycopg.sql.Identifier
SELECT {signal}(a.pid) AS signalled
FROM pg_stat_activity AS a
LEFT JOIN pg_roles AS r ON r.oid = a.usesysid
WHERE a.pid = %(pid)s
  AND a.backend_start = %(backend_start)s
  AND a.datname = current_database()
  AND a.pid <> pg_backend_pid()
  AND a.backend_type = 'client backend'
  AND NOT coalesce(r.rolsuper, false)
  AND a.application_name NOT LIKE 'mop:%%'
