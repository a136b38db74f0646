-- returns: rows (table_name, key, column_name, value_hex, reason, created_at text) of a copy's rejects,
-- oldest first; optionally one table, optionally without the replacement warnings, at most row_limit.
-- params: copy_id, table_name (text or NULL), include_warnings (boolean), row_limit (int or NULL)
SELECT table_name, key, column_name, value_hex, reason, created_at::text AS created_at
FROM mop.copy_reject
WHERE copy_id = %(copy_id)s
  AND (%(table_name)s::text IS NULL OR table_name = %(table_name)s)
  AND (%(include_warnings)s OR reason NOT LIKE 'replaced:%%')
ORDER BY id
LIMIT %(row_limit)s
