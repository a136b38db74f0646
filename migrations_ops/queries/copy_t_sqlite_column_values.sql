-- returns: rows (SQLite, pre-flight prediction): rowid (or NULL), the primary key values, and one column's value,
-- of the rows matching where (one key, or values the SQL steps could not decide).
-- Template: key, pks (each followed by a comma), column, table, where.
SELECT {key}, {pks}{column} FROM {table} WHERE {where}
