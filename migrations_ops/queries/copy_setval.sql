-- returns: one row (setval bigint); moves a sequence to value so the next insert does not collide.
-- params: sequence (text), value (bigint)
SELECT setval(%(sequence)s::regclass, %(value)s) AS setval
