-- returns: rows (table_name, read, imported, rejected, seconds, ranges) per source table, summed over the
-- committed ranges of a copy.
-- params: copy_id
SELECT table_name, sum(rows_read) AS read, sum(rows_copied) AS imported, sum(rows_rejected) AS rejected,
       sum(seconds) AS seconds, count(*) AS ranges
FROM mop.copy_checkpoint
WHERE copy_id = %(copy_id)s AND finished_at IS NOT NULL
GROUP BY 1
ORDER BY 1
