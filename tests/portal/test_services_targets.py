"""save_target encrypts the password and audits which fields changed, never the password."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.ops import services
from portal.ops.models import AuditEvent, Target
from tests.factories import AlembicProjectFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Sup3r-s3cret-pw!"


def test_it_creates_a_target_with_an_encrypted_password(dba):
    target = Target(name="billing-dev", project=AlembicProjectFactory(), host="db.internal", dbname="billing",
                    user="app")
    services.save_target(target, user=dba, password=PASSWORD, created=True)
    target.refresh_from_db()
    assert target.password_encrypted and PASSWORD not in target.password_encrypted
    assert target.password() == PASSWORD
    event = AuditEvent.objects.get(action="target.created")
    assert event.actor == "dba" and event.target_id == target.pk
    assert "password" in event.params["changed"] and "host" in event.params["changed"]
    assert PASSWORD not in str(event.params) + event.error + event.hash


def test_it_audits_only_the_changed_fields(dba):
    target = Target(name="billing-dev", project=AlembicProjectFactory(), host="db1", dbname="billing", user="app")
    services.save_target(target, user=dba, password=PASSWORD, created=True)
    target.host, target.port = "db2", 6432
    services.save_target(target, user=dba, created=False)
    event = AuditEvent.objects.get(action="target.changed")
    assert event.params == {"changed": ["host", "port"], "cleared": ["password"],
                            "note": "stored password cleared: host, port changed without a new password"}
    services.save_target(target, user=dba, password="another-one", created=False)
    last = AuditEvent.objects.filter(action="target.changed").order_by("-id").first()
    assert last.params == {"changed": ["password"], "note": "password changed"}


def test_it_refuses_bad_connection_settings(dba):
    target = Target(name="bad", project=AlembicProjectFactory(), host="db;rm -rf", dbname="x", user="app")
    with pytest.raises(ValidationError, match="host"):
        services.save_target(target, user=dba, created=True)
    assert not Target.objects.filter(name="bad").exists()
