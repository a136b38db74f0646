-- returns: (SQLite) the indexes of one table (seq, name, unique, origin, partial); parameter: the table name.
SELECT seq, name, "unique", origin, partial FROM pragma_index_list(?)
