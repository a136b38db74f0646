-- returns: one row (locked boolean): whether this transaction now holds the target's advisory lock
-- SHARED (range workers of one copy side by side), released at commit or rollback, never waiting.
-- params: k1 (int, advisory.LOCK_KEY1)
SELECT pg_try_advisory_xact_lock_shared(%(k1)s, hashtext(current_database())) AS locked
