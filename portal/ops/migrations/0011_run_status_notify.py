"""A run's status change is announced on ``mop_run_status`` (payload: the run's id).

``ops ... --wait`` LISTENs for it instead of sleeping between polls, so the
command returns when the run ends, not up to a poll interval later. A trigger,
not application code: the worker, the reaper, a cancel and the admin all end
runs, and every one of them is heard.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION ops_run_status_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('mop_run_status', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER ops_run_status_notify
    AFTER UPDATE OF status ON ops_run
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ops_run_status_notify();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ops_run_status_notify ON ops_run;
DROP FUNCTION IF EXISTS ops_run_status_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("ops", "0010_change_run_statuses")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
