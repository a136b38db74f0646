-- returns: one row (released boolean): whether this session held the target's advisory lock and let it go.
-- params: k1 (int, advisory.LOCK_KEY1)
SELECT pg_advisory_unlock(%(k1)s, hashtext(current_database())) AS released
