-- returns: one row (bytes bigint) with the size of the table's main fork, 0 if it does not exist.
-- params: qualified_table (text, quoted)
SELECT coalesce(pg_relation_size(to_regclass(%(qualified_table)s)), 0) AS bytes
