-- returns: (type, without rowid) of main-schema table ? (SQLite), no row when there is none.
SELECT type, wr FROM pragma_table_list WHERE schema = 'main' AND name = ?
