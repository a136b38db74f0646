-- returns: at most one row (is_self, is_super) when a role named like the bookkeeping schema exists and its
-- search_path "$user" resolves to that schema (it has USAGE on it): its unqualified CREATE TABLE would land there.
-- is_self: that role is the one connected (the copy's own role); is_super: it is a superuser (ACLs do not apply).
-- params: none
SELECT r.rolname = current_user AS is_self, r.rolsuper AS is_super
FROM pg_roles r JOIN pg_namespace n ON n.nspname = r.rolname
WHERE n.nspname = 'mop' AND has_schema_privilege(r.oid, n.oid, 'USAGE')
