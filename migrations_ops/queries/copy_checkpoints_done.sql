-- returns: one row per committed range (table_name, range_lo) of a copy.
-- params: copy_id
SELECT table_name, range_lo FROM mop.copy_checkpoint
WHERE copy_id = %(copy_id)s AND finished_at IS NOT NULL
