-- returns: one row (pid, server_version_num) after setting the run's session-level lock_timeout,
-- statement_timeout and client_connection_check_interval = 1s (PostgreSQL 14+), so that the
-- backend of a SIGKILLed worker notices its client is gone within a second and ends, releasing
-- the target's advisory lock.
-- params: lock_timeout (text, ms), statement_timeout (text, ms)
SELECT pg_backend_pid() AS pid,
       current_setting('server_version_num')::int AS server_version_num,
       set_config('lock_timeout', %(lock_timeout)s, false) AS lock_timeout,
       set_config('statement_timeout', %(statement_timeout)s, false) AS statement_timeout,
       set_config('client_connection_check_interval', '1s', false) AS client_connection_check_interval
