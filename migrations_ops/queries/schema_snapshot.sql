-- returns: rows (kind, name, attrs jsonb), one per schema object outside the system schemas and extensions:
--   schema, extension, table, column, constraint, index, sequence, view, function, trigger, type.
-- Positions, OIDs, owners, privileges and sequence values are left out: they differ between equal schemas.
WITH nsp AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_toast%'
    AND nspname NOT LIKE 'pg\_temp\_%'
), ext_objs AS (
  SELECT objid FROM pg_depend WHERE deptype = 'e'
), rel AS (
  SELECT c.oid, c.relname, c.relkind, c.relpersistence, n.nspname
  FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
  WHERE c.oid NOT IN (SELECT objid FROM ext_objs)
)
SELECT 'schema' AS kind, n.nspname AS name, '{}'::jsonb AS attrs
FROM nsp n WHERE n.nspname <> 'public' AND n.oid NOT IN (SELECT objid FROM ext_objs)
UNION ALL
SELECT 'extension', e.extname, jsonb_build_object('schema', n.nspname)
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'
UNION ALL
SELECT 'table', r.nspname || '.' || r.relname,
       jsonb_build_object('kind', r.relkind::text, 'unlogged', r.relpersistence = 'u')
FROM rel r WHERE r.relkind IN ('r', 'p', 'f')
UNION ALL
SELECT 'column', r.nspname || '.' || r.relname || '.' || a.attname,
       jsonb_build_object('type', format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull,
                          'default', pg_get_expr(d.adbin, d.adrelid), 'identity', NULLIF(a.attidentity, ''),
                          'generated', NULLIF(a.attgenerated, ''))
FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE r.relkind IN ('r', 'p', 'f')
UNION ALL
SELECT 'constraint', r.nspname || '.' || r.relname || '.' || con.conname,
       jsonb_build_object('type', con.contype::text, 'definition', pg_get_constraintdef(con.oid))
FROM pg_constraint con JOIN rel r ON r.oid = con.conrelid
UNION ALL
SELECT 'index', r.nspname || '.' || ic.relname,
       jsonb_build_object('table', r.relname, 'definition', pg_get_indexdef(i.indexrelid))
FROM pg_index i JOIN rel r ON r.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 'sequence', r.nspname || '.' || r.relname,
       jsonb_build_object('type', format_type(s.seqtypid, NULL), 'increment', s.seqincrement, 'min', s.seqmin,
                          'max', s.seqmax, 'cycle', s.seqcycle,
                          'owned_by', (SELECT oc.relname || '.' || oa.attname FROM pg_depend dep
                                       JOIN pg_class oc ON oc.oid = dep.refobjid
                                       JOIN pg_attribute oa ON oa.attrelid = dep.refobjid AND oa.attnum = dep.refobjsubid
                                       WHERE dep.objid = r.oid AND dep.classid = 'pg_class'::regclass
                                         AND dep.deptype IN ('a', 'i') AND dep.refobjsubid > 0 LIMIT 1))
FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
UNION ALL
SELECT CASE r.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, r.nspname || '.' || r.relname,
       jsonb_build_object('definition', pg_get_viewdef(r.oid))
FROM rel r WHERE r.relkind IN ('v', 'm')
UNION ALL
SELECT 'function', n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       jsonb_build_object('returns', pg_get_function_result(p.oid), 'body_md5', md5(pg_get_functiondef(p.oid)))
FROM pg_proc p JOIN nsp n ON n.oid = p.pronamespace
WHERE p.prokind IN ('f', 'p') AND p.oid NOT IN (SELECT objid FROM ext_objs)
UNION ALL
SELECT 'trigger', r.nspname || '.' || r.relname || '.' || t.tgname,
       jsonb_build_object('definition', pg_get_triggerdef(t.oid))
FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'type', n.nspname || '.' || ty.typname,
       jsonb_build_object('kind', ty.typtype::text,
                          'labels', (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
                                     WHERE e.enumtypid = ty.oid),
                          'base', CASE WHEN ty.typtype = 'd' THEN format_type(ty.typbasetype, ty.typtypmod) END)
FROM pg_type ty JOIN nsp n ON n.oid = ty.typnamespace
WHERE ty.typtype IN ('e', 'd') AND ty.oid NOT IN (SELECT objid FROM ext_objs)
ORDER BY 1, 2
