-- returns: nothing; records what a copy run leaves behind (views, triggers, internal, virtual and skipped tables,
-- as a list of SkippedObject dicts) for its summary.
-- params: copy_id, skipped (json text)
UPDATE mop.copy_run SET skipped = %(skipped)s WHERE copy_id = %(copy_id)s
