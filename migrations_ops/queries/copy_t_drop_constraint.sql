-- returns: nothing; drops a constraint (its definition was saved first). Template: table, name.
ALTER TABLE {table} DROP CONSTRAINT {name}
