-- returns: nothing; locks target tables against every other access until the transaction ends,
-- so that the rows counted before a TRUNCATE are exactly the rows it removes. Template: tables.
LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE
