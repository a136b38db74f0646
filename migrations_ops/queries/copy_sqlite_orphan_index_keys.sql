-- returns: (column, collation) of each key column of index ? (SQLite).
SELECT name, coll FROM pragma_index_xinfo(?) WHERE key = 1
