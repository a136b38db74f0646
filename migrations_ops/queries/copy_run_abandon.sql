-- returns: one row (copy_id) if the run was still 'running' and is now 'abandoned' with the actor's note.
-- params: copy_id, note
UPDATE mop.copy_run SET status = 'abandoned', finished_at = now(), note = %(note)s
WHERE copy_id = %(copy_id)s AND status = 'running'
RETURNING copy_id
