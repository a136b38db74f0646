-- returns: nothing; one reject (or replacement warning) of a range, in the range's transaction.
-- params: copy_id, table_name, range_lo, key, column_name, value_hex, reason
INSERT INTO mop.copy_reject (copy_id, table_name, range_lo, key, column_name, value_hex, reason)
VALUES (%(copy_id)s, %(table_name)s, %(range_lo)s, %(key)s, %(column_name)s, %(value_hex)s, %(reason)s)
