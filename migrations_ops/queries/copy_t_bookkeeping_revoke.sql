-- returns: nothing; takes the role named like the bookkeeping schema off it, so that its search_path "$user"
-- no longer resolves to it (PostgreSQL skips a "$user" schema the role may not use). Template: no slots.
REVOKE ALL ON SCHEMA mop FROM mop
