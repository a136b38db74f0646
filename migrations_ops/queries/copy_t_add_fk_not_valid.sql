-- returns: nothing; puts a saved foreign key back without scanning the table. Template: table, name,
-- body (the saved pg_get_constraintdef text without NOT VALID).
ALTER TABLE {table} ADD CONSTRAINT {name} {body} NOT VALID
