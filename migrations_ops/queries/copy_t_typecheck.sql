-- returns: no rows; fails if the expression is not a boolean over the columns (a CHECK or partial-index
-- WHERE translated from SQLite, tried before the table exists). Template: columns (NULL::type AS name, ...),
-- expression.
SELECT 1 FROM (SELECT {columns}) AS t WHERE ({expression}) LIMIT 0
