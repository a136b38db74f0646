-- returns: one row (SQLite) when column ?2 of table ?1 is the rowid (an INTEGER PRIMARY KEY, or rowid itself)
-- or leads a non-partial index; none otherwise. Then min(column) and max(column), asked one at a time, each read
-- one end of a b-tree; asked together in one statement SQLite reads every row (0.10 s for 1 M rows).
SELECT 1 WHERE lower(?2) IN ('rowid', '_rowid_', 'oid')
    AND NOT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE lower(name) = lower(?2))
UNION ALL
SELECT 1 FROM pragma_table_info(?1) AS c
WHERE lower(c.name) = lower(?2) AND c.pk = 1 AND upper(c.type) = 'INTEGER'
    AND (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1
UNION ALL
SELECT 1 FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i
WHERE l.partial = 0 AND i.seqno = 0 AND lower(i.name) = lower(?2)
LIMIT 1
