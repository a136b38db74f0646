-- returns: nothing; the extension the pg_trgm GIN indexes need (advice shown to the DBA). Template: no slots.
CREATE EXTENSION IF NOT EXISTS pg_trgm
