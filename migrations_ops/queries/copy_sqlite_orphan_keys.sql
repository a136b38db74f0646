-- returns: (id, seq, parent table, child column, parent column) of each foreign key column of table ? (SQLite).
SELECT id, seq, "table", "from", "to" FROM pragma_foreign_key_list(?)
