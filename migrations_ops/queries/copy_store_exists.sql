-- returns: one row (present boolean): whether the copy state tables exist (schema mop made by a copy).
SELECT to_regclass('mop.copy_reject') IS NOT NULL AS present
