-- returns: nothing; marks a copy run finished with its summary (json text).
-- params: copy_id, summary
UPDATE mop.copy_run SET status = 'finished', finished_at = now(), summary = %(summary)s
WHERE copy_id = %(copy_id)s
