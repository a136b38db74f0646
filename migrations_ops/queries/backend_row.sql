-- returns: at most one row for backend %(pid)s: its whole pg_stat_activity row as jsonb (the
-- audit record of an action; timestamps come out as ISO 8601 strings), backend_start, whether
-- its role is a superuser (pg_roles.rolsuper), whether it is the calling session, and its
-- database (datname, NULL for background processes) next to the caller's (current_database()).
-- params: pid (int)
SELECT
    to_jsonb(a) AS row,
    a.backend_start,
    a.backend_type,
    a.application_name,
    a.usename::text AS usename,
    coalesce(r.rolsuper, false) AS superuser,
    a.pid = pg_backend_pid() AS is_self,
    a.datname::text AS datname,
    current_database()::text AS own_datname
FROM pg_stat_activity AS a
LEFT JOIN pg_roles AS r ON r.oid = a.usesysid
WHERE a.pid = %(pid)s
