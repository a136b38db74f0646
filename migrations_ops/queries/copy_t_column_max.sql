-- returns: one row (max) of one column. Template: column, table.
SELECT max({column}) FROM {table}
