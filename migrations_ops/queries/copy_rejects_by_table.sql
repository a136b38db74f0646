-- returns: rows (table_name, code, count) of a copy's reject records per source table and reason code;
-- a server refusal for a duplicate key is its own code, duplicate_key; replacement warnings are left out.
-- params: copy_id
SELECT table_name,
       CASE WHEN reason LIKE 'server_refused: duplicate key value%%' THEN 'duplicate_key'
            ELSE split_part(reason, ':', 1) END AS code,
       count(*) AS count
FROM mop.copy_reject
WHERE copy_id = %(copy_id)s AND reason NOT LIKE 'replaced:%%'
GROUP BY 1, 2
ORDER BY 1, 2
