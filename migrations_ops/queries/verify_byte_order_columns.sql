-- returns: one row per column of one table (column_name, byte_order boolean): whether the column's text order
-- is already the byte order of UTF-8 (collation C, POSIX or C.UTF-8 under libc), so that a key range compares
-- it as it is, and uses its index, instead of through COLLATE "C". Other collations (ICU, en_US...): false.
-- datlocprovider is read through to_jsonb: the column exists from PostgreSQL 15 on (before: libc).
-- params: schema, table
SELECT a.attname AS column_name,
       a.attcollation = 0 OR coalesce(CASE
           WHEN co.collprovider = 'd' THEN coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') = 'c'
                                           AND d.datcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8')
           ELSE co.collprovider = 'c' AND co.collcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8')
       END, false) AS byte_order
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_collation co ON co.oid = a.attcollation
CROSS JOIN (SELECT * FROM pg_database WHERE datname = current_database()) AS d
WHERE n.nspname = %(schema)s AND c.relname = %(table)s AND a.attnum > 0 AND NOT a.attisdropped
