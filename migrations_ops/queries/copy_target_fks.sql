-- returns: rows (conname, definition) of the table's own foreign keys.
-- params: table_oid
SELECT con.conname, pg_get_constraintdef(con.oid) AS definition
FROM pg_constraint con
WHERE con.conrelid = %(table_oid)s AND con.contype = 'f'
ORDER BY con.conname
