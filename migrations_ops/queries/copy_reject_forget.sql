-- returns: nothing; deletes the rejects a stopped attempt of this range kept, before it is redone.
-- params: copy_id, table_name, range_lo
DELETE FROM mop.copy_reject
WHERE copy_id = %(copy_id)s AND table_name = %(table_name)s AND range_lo = %(range_lo)s
