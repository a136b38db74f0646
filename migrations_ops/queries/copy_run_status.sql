-- returns: at most one row (status) of a copy run: running, finished or abandoned.
-- params: copy_id
SELECT status FROM mop.copy_run WHERE copy_id = %(copy_id)s
