-- returns: nothing; turns a unique index built after the load back into its PRIMARY KEY or UNIQUE constraint
-- (renaming nothing: the index has the constraint's name). Template: table, name, kind, index, deferrable.
ALTER TABLE {table} ADD CONSTRAINT {name} {kind} USING INDEX {index}{deferrable}
