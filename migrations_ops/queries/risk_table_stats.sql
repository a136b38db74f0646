-- returns: one row per table named in %(names)s (bare names visible on the search_path, or schema.name):
--   qualified name, estimated rows (reltuples, else n_live_tup before the first ANALYZE), total bytes with
--   indexes and TOAST, sessions other than ours holding any lock on it now, and tuples written so far
--   (n_tup_ins + n_tup_upd + n_tup_del, for a write rate between two readings).
SELECT n.nspname || '.' || c.relname AS qualified,
       c.relname AS name,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE coalesce(s.n_live_tup, 0) END AS rows,
       pg_total_relation_size(c.oid) AS total_bytes,
       (SELECT count(DISTINCT l.pid)
          FROM pg_locks l
          JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'relation' AND l.relation = c.oid AND l.pid <> pg_backend_pid()
           AND a.datname = current_database()) AS sessions,
       coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0) AS written
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
 WHERE c.relkind IN ('r', 'p', 'm')
   AND ((c.relname = ANY(%(names)s) AND pg_table_is_visible(c.oid))
        OR n.nspname || '.' || c.relname = ANY(%(names)s))
