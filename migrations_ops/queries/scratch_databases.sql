-- returns: datname of every database whose name matches the LIKE pattern %(prefix)s (scratch databases)
SELECT datname
FROM pg_database
WHERE datname LIKE %(prefix)s
ORDER BY datname
