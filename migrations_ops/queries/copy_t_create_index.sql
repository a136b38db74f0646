-- returns: nothing; a secondary index of a table created from the SQLite declaration. Template: unique
-- (empty or "UNIQUE "), name, table, keys (columns with DESC), where (empty or " WHERE expression").
CREATE {unique}INDEX {name} ON {table} ({keys}){where}
