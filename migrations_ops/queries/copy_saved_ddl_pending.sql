-- returns: rows (schema_name, table_name, name, definition, table_bytes) of one kind of saved DDL not yet
-- restored, biggest table first (so parallel index builds start with the longest ones).
-- params: copy_id, kind
SELECT d.schema_name, d.table_name, d.name, d.definition,
       coalesce(pg_relation_size(to_regclass(quote_ident(d.schema_name) || '.' || quote_ident(d.table_name))), 0)
           AS table_bytes
FROM mop.copy_saved_ddl d
WHERE d.copy_id = %(copy_id)s AND d.kind = %(kind)s AND d.restored_at IS NULL
ORDER BY table_bytes DESC, d.table_name, d.name
