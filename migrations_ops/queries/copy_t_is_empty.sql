-- returns: one row (empty boolean): whether the table holds no row. Template: table.
SELECT NOT EXISTS (SELECT 1 FROM {table}) AS empty
