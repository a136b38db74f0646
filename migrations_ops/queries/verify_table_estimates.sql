-- returns: table_name, estimate (pg_class.reltuples, -1 if never analyzed) for schema %(schema)s
SELECT c.relname AS table_name, c.reltuples::bigint AS estimate
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p')
