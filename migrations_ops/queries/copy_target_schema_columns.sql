-- returns: rows (relname, attname) of every column of every table of a schema, in column order: the names the
-- advice DDL of an external-content FTS index must use for its content table's columns.
-- params: schema_name
SELECT c.relname, a.attname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = %(schema_name)s AND c.relkind IN ('r', 'p')
ORDER BY c.relname, a.attnum
