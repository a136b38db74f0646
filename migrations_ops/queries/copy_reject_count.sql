-- returns: one row (rejects bigint): reject and warning rows stored for a copy.
-- params: copy_id
SELECT count(*) AS rejects FROM mop.copy_reject WHERE copy_id = %(copy_id)s
