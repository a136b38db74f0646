-- returns: one row (claimed int) if the range's checkpoint row was inserted now, no row if it exists
-- (committed earlier, or by a redelivered twin whose commit this insert waited for).
-- params: copy_id, table_name, range_lo, range_hi
INSERT INTO mop.copy_checkpoint (copy_id, table_name, range_lo, range_hi)
VALUES (%(copy_id)s, %(table_name)s, %(range_lo)s, %(range_hi)s)
ON CONFLICT DO NOTHING
RETURNING 1 AS claimed
