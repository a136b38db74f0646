-- returns: one row (ranges, rows_copied, rows_rejected) summed over the committed ranges of a copy.
-- params: copy_id
SELECT count(*) AS ranges, coalesce(sum(rows_copied), 0)::bigint AS rows_copied,
       coalesce(sum(rows_rejected), 0)::bigint AS rows_rejected
FROM mop.copy_checkpoint
WHERE copy_id = %(copy_id)s AND finished_at IS NOT NULL
