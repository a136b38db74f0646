-- returns: rows (schema, sequence, table, column) of sequences owned by a column (serial and identity).
SELECT sn.nspname, s.relname, t.relname, a.attname
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_class t ON t.oid = d.refobjid
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
  AND sn.nspname NOT IN ('pg_catalog', 'information_schema')
