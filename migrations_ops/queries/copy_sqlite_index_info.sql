-- returns: (SQLite) the columns of one index in key order (name; NULL for an expression); parameter: the index name.
SELECT name FROM pragma_index_info(?) ORDER BY seqno
