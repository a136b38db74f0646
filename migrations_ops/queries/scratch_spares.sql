-- returns: datname of every spare scratch database (LIKE pattern %(prefix)s) this role may claim by a rename:
--   its own, or any when the role is a superuser (renaming a database needs its owner).
SELECT d.datname
FROM pg_database d
WHERE d.datname LIKE %(prefix)s
  AND (pg_has_role(current_user, d.datdba, 'USAGE')
       OR (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user))
ORDER BY d.datname DESC
