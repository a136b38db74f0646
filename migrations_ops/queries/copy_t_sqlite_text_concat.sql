-- returns: one row (SQLite, pre-flight prediction): the pending text of the rows in range, every column's value
-- as bytes, joined by newlines (one UTF-8 decode and one NUL search check them all).
-- Template: parts (the row's values joined by x'0a'), table, where (``key BETWEEN ? AND ?`` or ``1``).
SELECT group_concat({parts}, x'0a') FROM {table} WHERE {where}
