"""The database itself refuses UPDATE, DELETE and TRUNCATE on audit events.

The triggers stop accidents and any role that does not own the table; the
hash chain (``audit.verify_chain``) catches what a table owner or superuser
does with the triggers disabled.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ops_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ops_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Audit events are never changed or removed; record a new event instead.';
END;
$$;
CREATE TRIGGER ops_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON ops_auditevent
    FOR EACH ROW EXECUTE FUNCTION ops_auditevent_append_only();
CREATE TRIGGER ops_auditevent_no_truncate
    BEFORE TRUNCATE ON ops_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION ops_auditevent_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ops_auditevent_no_truncate ON ops_auditevent;
DROP TRIGGER IF EXISTS ops_auditevent_no_update_delete ON ops_auditevent;
DROP FUNCTION IF EXISTS ops_auditevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("ops", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
