-- returns: rows (table_name, key, reason) - one per rejected row of a copy: its source table, its key as the
-- copy wrote it (primary key values joined by ", ", or rowid:N) and every reason given for it, joined by "; ".
-- Replacement warnings ("replaced: ...") are not rejects and are left out.
-- params: copy_id
SELECT table_name, key,
       string_agg(DISTINCT coalesce(column_name || ': ', '') || reason, '; ') AS reason
FROM mop.copy_reject
WHERE copy_id = %(copy_id)s AND key IS NOT NULL AND reason NOT LIKE 'replaced:%%'
GROUP BY table_name, key
