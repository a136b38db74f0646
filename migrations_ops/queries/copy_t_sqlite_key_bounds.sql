-- returns: one row (SQLite): the smallest and the largest rowid of the table (NULLs when it is empty).
-- Template: key (a rowid alias), table.
SELECT min({key}), max({key}) FROM {table}
