-- returns: at most one row (appended_keyless jsonb): keyless non-empty tables the copy appended to, or NULL.
-- params: copy_id
SELECT appended_keyless FROM mop.copy_run WHERE copy_id = %(copy_id)s
