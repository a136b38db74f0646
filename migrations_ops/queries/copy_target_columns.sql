-- returns: rows (attname, attnotnull, generated, base_name, typmod, shown, is_enum) of a table's columns in
-- order, domains resolved to their base type.
-- params: table_oid
SELECT a.attname, a.attnotnull, a.attgenerated <> '' AS generated,
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END AS base_name,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       format_type(a.atttypid, a.atttypmod) AS shown,
       (t.typtype = 'e' OR (t.typtype = 'd' AND bt.typtype = 'e')) AS is_enum
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
WHERE a.attrelid = %(table_oid)s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
