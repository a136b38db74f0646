"""Audit events: every role but the table's owner may only SELECT and INSERT.

Migrations run as the owner of the tables (MOP_MIGRATE_DATABASE_URL), whose
default privileges grant the portal's role SELECT, INSERT, UPDATE and DELETE
on each new table (docker/postgres-init/portal-db.psql). For the audit table
that is too much: this takes UPDATE, DELETE, TRUNCATE, REFERENCES and TRIGGER
back from every grantee, whatever its name, so the refusal no longer rests on
the trigger alone (docs/security.md). The owner keeps its rights: only it (or
a superuser) can disable the trigger, and the hash chain shows what it did.
"""

from django.db import migrations

REVOKE = """
DO $$
DECLARE
    grantee regrole;
BEGIN
    REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ops_auditevent FROM PUBLIC;
    FOR grantee IN
        SELECT DISTINCT a.grantee::regrole
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = 'ops_auditevent'::regclass
           AND a.grantee NOT IN (0, c.relowner)
           AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER')
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ops_auditevent FROM %s', grantee);
    END LOOP;
END;
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("ops", "0006_verificationreport")]

    # Nothing to give back on the way down: the grants were never the portal's to keep.
    operations = [migrations.RunSQL(REVOKE, migrations.RunSQL.noop)]
