-- returns: one row (rows bigint): the exact number of rows of a target table. Template: table.
SELECT count(*) AS rows FROM {table}
