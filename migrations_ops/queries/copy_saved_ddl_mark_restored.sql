-- returns: nothing; marks one saved definition restored (same transaction as the DDL that restored it).
-- params: copy_id, kind, schema_name, table_name, name
UPDATE mop.copy_saved_ddl SET restored_at = now()
WHERE copy_id = %(copy_id)s AND kind = %(kind)s AND schema_name = %(schema_name)s
  AND table_name = %(table_name)s AND name = %(name)s
