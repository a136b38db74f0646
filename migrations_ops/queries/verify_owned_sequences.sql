-- returns: the sequence behind every serial or identity column of schema %(schema)s (what
-- pg_get_serial_sequence finds): table_name, column_name, sequence, increment, start_value,
-- last_value (NULL if never used or not readable), readable
SELECT c.relname AS table_name,
       a.attname AS column_name,
       seq.oid::regclass::text AS sequence,
       s.seqincrement AS increment,
       s.seqstart AS start_value,
       CASE WHEN has_sequence_privilege(seq.oid, 'SELECT,USAGE')
            THEN pg_sequence_last_value(seq.oid) END AS last_value,
       has_sequence_privilege(seq.oid, 'SELECT,USAGE') AS readable
FROM pg_depend d
JOIN pg_class seq ON seq.oid = d.objid AND seq.relkind = 'S'
JOIN pg_sequence s ON s.seqrelid = seq.oid
JOIN pg_class c ON c.oid = d.refobjid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass
  AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i')
  AND n.nspname = %(schema)s
ORDER BY c.relname, a.attname
