-- returns: one row: the oid of this session's temporary table %(name)s (a planned table's twin).
SELECT to_regclass(format('pg_temp.%%I', %(name)s::text))::oid AS oid
