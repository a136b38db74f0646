-- returns: one row (child schema, child table, parent schema, parent table, child columns[], parent
-- columns[]) of a foreign key, columns in key order.
-- params: qualified_table (text, quoted), conname
SELECT cn.nspname, c.relname, pn.nspname, p.relname,
       array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS child_columns,
       array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS parent_columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_class p ON p.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE con.conrelid = %(qualified_table)s::regclass AND con.conname = %(conname)s AND con.contype = 'f'
