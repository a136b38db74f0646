-- returns: at most one row (oid, relname) of the target table for a source table name: the exact name
-- first, else its lower-case form (what an ORM would have created).
-- params: schema_name, name
SELECT c.oid, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema_name)s AND c.relkind IN ('r', 'p') AND (c.relname = %(name)s OR c.relname = lower(%(name)s))
ORDER BY c.relname = %(name)s DESC
LIMIT 1
