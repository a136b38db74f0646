-- returns: nothing; writes a range's counts into its checkpoint row (same transaction as its rows).
-- params: copy_id, table_name, range_lo, rows_read, rows_copied, rows_rejected, bytes, seconds
UPDATE mop.copy_checkpoint
SET rows_read = %(rows_read)s, rows_copied = %(rows_copied)s, rows_rejected = %(rows_rejected)s,
    bytes = %(bytes)s, seconds = %(seconds)s, finished_at = now()
WHERE copy_id = %(copy_id)s AND table_name = %(table_name)s AND range_lo = %(range_lo)s
