-- returns: nothing; records on the copy run which target tables its planning emptied, with their row counts
-- (json object table -> rows), so that the record stays in the target and a resume never truncates again.
-- params: copy_id, truncated (json text)
UPDATE mop.copy_run SET truncated = %(truncated)s WHERE copy_id = %(copy_id)s
