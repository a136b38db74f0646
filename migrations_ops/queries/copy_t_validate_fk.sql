-- returns: nothing; validates a foreign key that has no orphan. Template: table, name.
ALTER TABLE {table} VALIDATE CONSTRAINT {name}
