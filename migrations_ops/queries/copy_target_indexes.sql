-- returns: rows (relname, definition) of the table's indexes that back no constraint (CREATE INDEX text).
-- params: table_oid
SELECT ic.relname, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = %(table_oid)s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
ORDER BY ic.relname
