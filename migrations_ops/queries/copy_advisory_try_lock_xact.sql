-- returns: one row (locked boolean): whether this transaction now holds the target's advisory lock
-- exclusively, released at commit or rollback (never waiting). Same key as advisory_try_lock.sql.
-- params: k1 (int, advisory.LOCK_KEY1)
SELECT pg_try_advisory_xact_lock(%(k1)s, hashtext(current_database())) AS locked
