-- returns: qualified name and tuples written so far (n_tup_ins + n_tup_upd + n_tup_del) of the tables named in
--   %(names)s, after dropping this transaction's statistics snapshot so the second reading is fresh.
SELECT s.schemaname || '.' || s.relname AS qualified,
       s.n_tup_ins + s.n_tup_upd + s.n_tup_del AS written
  FROM (SELECT pg_stat_clear_snapshot()) AS fresh, pg_stat_user_tables s
 WHERE s.schemaname || '.' || s.relname = ANY(%(names)s)
