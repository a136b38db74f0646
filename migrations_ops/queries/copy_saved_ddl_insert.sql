-- returns: nothing; saves one definition dropped for the load, in the same transaction as the DROP,
-- so a crash can never lose it. kind: fk, index, constraint_index or constraint.
-- params: copy_id, kind, schema_name, table_name, name, definition
INSERT INTO mop.copy_saved_ddl (copy_id, kind, schema_name, table_name, name, definition)
VALUES (%(copy_id)s, %(kind)s, %(schema_name)s, %(table_name)s, %(name)s, %(definition)s)
