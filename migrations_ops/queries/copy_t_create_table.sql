-- returns: nothing; a target table created from the SQLite declaration. Template: table, columns
-- (column definitions with mapped types, and the primary key).
CREATE TABLE {table} ({columns})
