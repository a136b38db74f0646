-- returns: rows (oid) of the text search configuration named (plain or schema-qualified); none when missing.
-- params: regconfig
SELECT c.oid
FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
WHERE c.cfgname = %(regconfig)s OR n.nspname || '.' || c.cfgname = %(regconfig)s
