-- returns: one row (rejected bigint): rows rejected by the committed ranges of a copy.
-- params: copy_id
SELECT coalesce(sum(rows_rejected), 0)::bigint AS rejected
FROM mop.copy_checkpoint
WHERE copy_id = %(copy_id)s AND finished_at IS NOT NULL
