-- returns: one row (rows_read, rows_copied, rows_rejected, bytes, seconds) of a range's checkpoint.
-- params: copy_id, table_name, range_lo
SELECT rows_read, rows_copied, rows_rejected, bytes, seconds
FROM mop.copy_checkpoint
WHERE copy_id = %(copy_id)s AND table_name = %(table_name)s AND range_lo = %(range_lo)s
