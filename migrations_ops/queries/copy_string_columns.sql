-- returns: rows (attname) of the table's columns of a string type (text, varchar, char, name, citext...),
-- whose index builds sort with collation-aware comparisons and so cost several times an integer's.
-- params: qualified_table (text, quoted)
SELECT a.attname
FROM pg_attribute a
JOIN pg_type ty ON ty.oid = a.atttypid
WHERE a.attrelid = %(qualified_table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND ty.typcategory = 'S'
