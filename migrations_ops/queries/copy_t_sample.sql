-- returns: at most 5 rows of a subquery. Template: query.
{query} LIMIT 5
