-- returns: at most one row (skipped jsonb) of a copy run: the objects it did not copy (NULL for older runs).
-- params: copy_id
SELECT skipped FROM mop.copy_run WHERE copy_id = %(copy_id)s
