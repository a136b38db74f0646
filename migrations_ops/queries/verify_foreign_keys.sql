-- returns: every foreign key whose referencing table is in schema %(schema)s:
-- name, table_name, columns, ref_schema, ref_table, ref_columns (pairs in key order), validated
SELECT con.conname AS name,
       c.relname AS table_name,
       array_agg(a.attname::text ORDER BY k.ord) AS columns,
       rn.nspname AS ref_schema,
       rc.relname AS ref_table,
       array_agg(ra.attname::text ORDER BY k.ord) AS ref_columns,
       con.convalidated AS validated
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refattnum, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refattnum
WHERE con.contype = 'f' AND n.nspname = %(schema)s
GROUP BY con.oid, con.conname, c.relname, rn.nspname, rc.relname, con.convalidated
ORDER BY c.relname, con.conname
