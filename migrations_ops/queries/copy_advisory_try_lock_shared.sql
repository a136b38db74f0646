-- returns: one row (locked boolean): whether this session now holds the target's advisory lock SHARED
-- (session level, never waiting). Same key as advisory_try_lock.sql.
-- params: k1 (int, advisory.LOCK_KEY1)
SELECT pg_try_advisory_lock_shared(%(k1)s, hashtext(current_database())) AS locked
