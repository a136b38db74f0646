-- returns: at most 5 rows (key text, total bigint) of a subquery, each with the number of all its rows
-- (one scan gives the count and the sample; no row: there are none). Template: query.
SELECT o.*, count(*) OVER () AS total FROM ({query}) o LIMIT 5
