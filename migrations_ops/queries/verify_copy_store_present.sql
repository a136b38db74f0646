-- returns: one row (present boolean) - whether the copy's state tables mop.copy_run and mop.copy_reject exist.
SELECT to_regclass('mop.copy_run') IS NOT NULL AND to_regclass('mop.copy_reject') IS NOT NULL AS present
