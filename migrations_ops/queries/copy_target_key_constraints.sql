-- returns: rows (conname, constraint_def, index_def, referenced_by, key_columns) of the table's PRIMARY KEY and UNIQUE
-- constraints: their definition, the CREATE UNIQUE INDEX of their index, and how many foreign keys still
-- depend on them (a constraint other tables' foreign keys use cannot be dropped for the load). Plain tables
-- only: a partitioned table's key cannot be re-attached with ADD CONSTRAINT ... USING INDEX.
-- params: table_oid
SELECT con.conname, pg_get_constraintdef(con.oid) AS constraint_def, pg_get_indexdef(con.conindid) AS index_def,
       (SELECT count(*) FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = con.conindid) AS referenced_by,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) AS k(attnum)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS key_columns
FROM pg_constraint con
WHERE con.conrelid = %(table_oid)s AND con.contype IN ('p', 'u')
  AND (SELECT c.relkind FROM pg_class c WHERE c.oid = con.conrelid) = 'r'
ORDER BY con.contype, con.conname
