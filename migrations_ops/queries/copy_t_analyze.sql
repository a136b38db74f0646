-- returns: nothing; refreshes the planner statistics of a loaded table. Template: table.
ANALYZE {table}
