-- returns: (name, declared type, primary key position) of each column of table ? (SQLite).
SELECT name, type, pk FROM pragma_table_info(?)
