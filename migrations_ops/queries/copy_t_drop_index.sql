-- returns: nothing; drops an index (its definition was saved first). Template: index (schema-qualified).
DROP INDEX {index}
