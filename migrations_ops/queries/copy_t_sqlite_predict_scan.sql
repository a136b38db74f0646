-- returns: one row (SQLite, pre-flight prediction): per copied column, the sum of its values' weights and the keys
-- of its undecided values (group_concat text). The weights are computed once, in a subquery SQLite runs as a
-- co-routine: LIMIT -1 keeps it from being flattened into the aggregates (which would evaluate each CASE twice).
-- Template: aggregates, key, weights, table.
SELECT {aggregates} FROM (SELECT {key} AS k, {weights} FROM {table} LIMIT -1)
