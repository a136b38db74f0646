-- returns: one row; session settings of a connection that builds indexes after the load:
-- maintenance_work_mem raised so each sort stays in memory, and no parallel maintenance workers,
-- since the copy already builds index_workers indexes side by side (more would only oversubscribe).
-- params: mem (text, e.g. 256MB)
SELECT set_config('maintenance_work_mem', %(mem)s, false), set_config('max_parallel_maintenance_workers', '0', false)
