-- returns: groups of indexes of one table that index the same columns with the same operator classes,
-- expressions and predicate (one of each group is enough): table, the index names and their sizes.
-- Grouped on pg_index alone; only the indexes of a duplicate group are named and sized. Parameter: limit.
WITH groups AS MATERIALIZED (
    SELECT i.indrelid, array_agg(i.indexrelid ORDER BY i.indexrelid) AS ids
    FROM pg_index AS i
    GROUP BY i.indrelid, i.indkey::text, i.indclass::text,
             coalesce(pg_get_expr(i.indexprs, i.indrelid), ''), coalesce(pg_get_expr(i.indpred, i.indrelid), '')
    HAVING count(*) > 1
)
SELECT
    n.nspname::text AS schema,
    t.relname::text AS "table",
    ARRAY(SELECT c.relname::text FROM pg_class AS c WHERE c.oid = ANY (g.ids) ORDER BY c.relname) AS indexes,
    (SELECT sum(pg_relation_size(x))::bigint FROM unnest(g.ids) AS x) AS size_bytes
FROM groups AS g
JOIN pg_class AS t ON t.oid = g.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
ORDER BY size_bytes DESC, schema, "table"
LIMIT %(limit)s
