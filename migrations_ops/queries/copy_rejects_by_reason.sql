-- returns: rows (code, count) of a copy's rejects grouped by the reason's code (text before the colon).
-- params: copy_id
SELECT split_part(reason, ':', 1) AS code, count(*) AS count
FROM mop.copy_reject
WHERE copy_id = %(copy_id)s
GROUP BY 1
ORDER BY 1
