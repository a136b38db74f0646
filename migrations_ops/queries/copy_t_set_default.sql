-- returns: nothing; a DEFAULT translated from the SQLite declaration. Template: table, column, default
-- (a constant deparsed by pglast).
ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {default}
