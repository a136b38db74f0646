-- returns: one row (locked boolean): whether this session now holds the target's advisory lock
-- (two-int form: 0x4D4F50 'MOP', hashtext(current_database())), taken at session level, never waiting.
-- params: k1 (int, advisory.LOCK_KEY1)
SELECT pg_try_advisory_lock(%(k1)s, hashtext(current_database())) AS locked
