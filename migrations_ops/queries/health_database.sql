-- returns: one row for the current database: its size in bytes and the cumulative counters of
-- pg_stat_database (commits, rollbacks, deadlocks, recovery conflicts, temp files and bytes) with the
-- time of the last stats reset; the health snapshot keeps them and charts the deltas between snapshots.
SELECT
    current_database()::text AS datname,
    pg_database_size(current_database())::bigint AS size_bytes,
    d.xact_commit::bigint AS xact_commit,
    d.xact_rollback::bigint AS xact_rollback,
    d.deadlocks::bigint AS deadlocks,
    d.conflicts::bigint AS conflicts,
    d.temp_files::bigint AS temp_files,
    d.temp_bytes::bigint AS temp_bytes,
    d.stats_reset AS stats_reset
FROM pg_stat_database AS d
WHERE d.datname = current_database()
