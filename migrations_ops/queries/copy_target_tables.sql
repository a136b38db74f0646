-- returns: rows (oid, relname) of every ordinary or partitioned table of a schema, for the one name rule
-- (migrations_ops/names.py) to pair source tables with; listed once per planning or pre-flight.
-- params: schema_name
SELECT c.oid, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema_name)s AND c.relkind IN ('r', 'p')
ORDER BY c.relname
