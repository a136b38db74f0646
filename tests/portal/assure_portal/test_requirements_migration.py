"""The per-target requirements move to the environment's policy (data migration, real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.portal.portal_db import _credentials, owner_url

BEFORE = [("assure", "0001_initial"), ("change", "0001_initial")]
AFTER = [("assure", "0002_requirements_on_policy"), ("change", "0002_policy_requirements")]


@contextmanager
def _as_owner() -> Iterator[None]:
    """Migrations run as the tables' owner, as in production (the portal's role may not ALTER them)."""
    s = connection.settings_dict
    runtime = s["USER"], s["PASSWORD"]
    if owner_url() is not None:
        connection.close()
        s["USER"], s["PASSWORD"] = _credentials(owner_url() or "")
    try:
        yield
    finally:
        connection.close()
        s["USER"], s["PASSWORD"] = runtime


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_it_carries_the_strictest_target_values_to_each_environments_policy():
    with _as_owner():
        _carry_and_back()


def _carry_and_back() -> None:
    old = _migrate(BEFORE)
    try:
        Project = old.get_model("ops", "AlembicProject")
        Target = old.get_model("ops", "Target")
        Assurance = old.get_model("assure", "TargetAssurance")
        Policy = old.get_model("change", "Policy")
        Policy.objects.all().delete()
        Policy.objects.create(environment="staging", backup_required=True)
        project = Project.objects.create(name="p-mig", location="examples/billing")

        def target(name, env, **conf):
            t = Target.objects.create(name=name, project=project, environment=env, host="h", dbname=name, user="u")
            Assurance.objects.create(target=t, **conf)

        target("prod-a", "production", rehearsal_required=True, rehearsal_max_age_hours=48, backup_scope="schema",
               allow_open_drift=True)
        target("prod-b", "production", rehearsal_required=True, rehearsal_max_age_hours=6, backup_scope="touched",
               allow_open_drift=False)
        target("prod-c", "production", backup_scope="none", allow_open_drift=True)
        target("stage-a", "staging", rehearsal_required=True, backup_scope="schema")
        target("dev-a", "development", backup_scope="touched")

        new = _migrate(AFTER)
        policies = {p.environment: p for p in new.get_model("change", "Policy").objects.all()}
        prod, stage, dev = policies["production"], policies["staging"], policies["development"]
        assert (prod.rehearsal_required, prod.rehearsal_max_age_hours) == (True, 6)
        assert prod.backup_scope == "touched" and prod.allow_open_drift is False
        # staging's old 'backup required' (no scope) becomes full; its target's rehearsal flag never applied
        assert stage.backup_scope == "full" and stage.rehearsal_required is False and stage.allow_open_drift is True
        assert dev.backup_scope == "touched" and dev.allow_open_drift is True and dev.rehearsal_required is False
        fields = {f.name for f in new.get_model("assure", "TargetAssurance")._meta.get_fields()}
        assert not fields & {"rehearsal_required", "rehearsal_max_age_hours", "backup_scope", "allow_open_drift"}

        back = _migrate(BEFORE)  # and back: each target gets its environment's values
        confs = {c.target.name: c for c in back.get_model("assure", "TargetAssurance").objects.select_related("target")}
        assert confs["prod-a"].rehearsal_required and confs["prod-a"].rehearsal_max_age_hours == 6
        assert confs["dev-a"].backup_scope == "touched" and not confs["stage-a"].rehearsal_required
    finally:
        _migrate(AFTER)
