-- returns: one row (pid, server_version_num) after setting the run's session-level lock_timeout
-- and statement_timeout (set_config(..., false): they last for the session once committed).
-- params: lock_timeout (text, ms), statement_timeout (text, ms)
SELECT pg_backend_pid() AS pid,
       current_setting('server_version_num')::int AS server_version_num,
       set_config('lock_timeout', %(lock_timeout)s, false) AS lock_timeout,
       set_config('statement_timeout', %(statement_timeout)s, false) AS statement_timeout
