-- returns: nothing; a temporary table with the columns a planned table will have, for the pre-flight to read
-- the server's types back (in a transaction that is rolled back). Template: table, columns (name type [NOT NULL], ...).
CREATE TEMPORARY TABLE {table} ({columns}) ON COMMIT DROP
