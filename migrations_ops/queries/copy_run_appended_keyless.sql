-- returns: nothing; records the non-empty keyless target tables a copy appends to (append_duplicates).
-- params: copy_id, appended (json text: table -> rows held before the copy)
UPDATE mop.copy_run SET appended_keyless = %(appended)s WHERE copy_id = %(copy_id)s
