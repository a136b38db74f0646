-- returns: one row (setval bigint); moves a sequence to value so the next insert does not collide, never
-- below its start (a table created from an AUTOINCREMENT one starts after the last id SQLite handed out).
-- params: sequence (text), value (bigint)
SELECT setval(%(sequence)s::regclass,
              GREATEST(%(value)s, (SELECT seqstart - 1 FROM pg_sequence WHERE seqrelid = %(sequence)s::regclass)))
       AS setval
