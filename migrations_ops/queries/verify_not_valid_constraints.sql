-- returns: constraints of schema %(schema)s added NOT VALID and not validated since:
-- table_name, name, contype ('c' check, 'f' foreign key), definition
SELECT c.relname AS table_name,
       con.conname AS name,
       con.contype::text AS contype,
       pg_get_constraintdef(con.oid) AS definition
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND NOT con.convalidated
ORDER BY c.relname, con.conname
