-- returns: one row (cancelled bigint): how many backends named %(app)s (a run's
-- application_name, mop:run:<id>) were sent pg_cancel_backend; the caller is never one of them.
-- MATERIALIZED: the filter runs before pg_cancel_backend(), which the planner could otherwise call
-- on every backend, the caller's own included.
-- params: app (text)
WITH run AS MATERIALIZED (
    SELECT pid FROM pg_stat_activity
    WHERE application_name = %(app)s AND pid <> pg_backend_pid()
)
SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) AS cancelled
FROM run
