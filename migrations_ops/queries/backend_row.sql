-- returns: at most one row for backend %(pid)s: its whole pg_stat_activity row as jsonb (the
-- audit record of an action; timestamps come out as ISO 8601 strings), backend_start, whether
-- its role is a superuser (pg_roles.rolsuper), and whether it is the calling session.
-- params: pid (int)
SELECT
    to_jsonb(a) AS row,
    a.backend_start,
    a.backend_type,
    a.application_name,
    a.usename::text AS usename,
    coalesce(r.rolsuper, false) AS superuser,
    a.pid = pg_backend_pid() AS is_self
FROM pg_stat_activity AS a
LEFT JOIN pg_roles AS r ON r.oid = a.usesysid
WHERE a.pid = %(pid)s
