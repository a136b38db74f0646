-- returns: one row (count bigint) of a subquery's rows. Template: query.
SELECT count(*) FROM ({query}) o
