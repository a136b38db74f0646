-- returns: nothing; empties target tables in one statement (the copy's planning transaction:
-- all of them or none). Template: tables.
TRUNCATE {tables}
