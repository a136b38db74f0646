-- returns: nothing; a CHECK translated from the SQLite declaration. Template: table, name (empty or
-- "CONSTRAINT name "), expression (deparsed by pglast from a checked tree).
ALTER TABLE {table} ADD {name}CHECK ({expression})
