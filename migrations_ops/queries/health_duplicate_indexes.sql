-- returns: groups of indexes of one table that index the same columns with the same operator classes,
-- expressions and predicate (one of each group is enough): table, the index names and their sizes.
-- Parameter: limit.
SELECT
    n.nspname::text AS schema,
    t.relname::text AS "table",
    array_agg(ic.relname::text ORDER BY ic.relname) AS indexes,
    sum(pg_relation_size(i.indexrelid))::bigint AS size_bytes
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS t ON t.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
GROUP BY n.nspname, t.relname, i.indrelid, i.indkey::text, i.indclass::text,
         coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), coalesce(pg_get_expr(i.indpred, i.indrelid), '')
HAVING count(*) > 1
ORDER BY size_bytes DESC, schema, "table"
LIMIT %(limit)s
