-- returns: (name, unique, partial) of each index of table ? (SQLite).
SELECT name, "unique", partial FROM pragma_index_list(?)
