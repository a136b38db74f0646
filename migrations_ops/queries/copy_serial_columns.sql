-- returns: rows (attname, sequence) of the table's serial/identity columns and their sequences.
-- params: qualified_table (text, quoted)
SELECT a.attname, pg_get_serial_sequence(%(qualified_table)s::regclass::text, a.attname) AS sequence
FROM pg_attribute a
WHERE a.attrelid = %(qualified_table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND pg_get_serial_sequence(%(qualified_table)s::regclass::text, a.attname) IS NOT NULL
