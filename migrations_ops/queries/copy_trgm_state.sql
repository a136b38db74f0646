-- returns: one row (installed, available, can_create) about pg_trgm in the target database: installed already,
-- shipped with the server, and whether this role may create it (superuser, or CREATE on the database for a
-- trusted extension, which pg_trgm is since PostgreSQL 13).
-- params: none
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS available,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       OR has_database_privilege(current_user, current_database(), 'CREATE') AS can_create
