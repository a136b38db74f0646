-- returns: rows (SQLite, pre-flight prediction): key, then each text column's pending value as bytes (else NULL),
-- of the rows with key in lo..hi. Template: key, columns, table. Params: lo, hi.
SELECT {key}, {columns} FROM {table} WHERE {key} BETWEEN ? AND ?
