-- returns: at most one row (plan jsonb, options jsonb, status, started_at text, copy_seconds float8)
-- of a copy run; copy_seconds: from its start to its last committed range (NULL before one commits).
-- params: copy_id
SELECT r.plan, r.options, r.status, r.started_at::text AS started_at,
       extract(epoch FROM (SELECT max(c.finished_at) FROM mop.copy_checkpoint c WHERE c.copy_id = r.copy_id)
                          - r.started_at)::float8 AS copy_seconds
FROM mop.copy_run r
WHERE r.copy_id = %(copy_id)s
