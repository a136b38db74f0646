"""The target form: the password is write-only, stored encrypted, never rendered; saves are audited."""
# ruff: noqa: F811 - pytest fixtures are imported by name

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.ops import secrets
from portal.ops.models import AuditEvent, Target
from tests.factories import RunFactory
from tests.portal.admin_helpers import (  # noqa: F401 - fixtures
    assert_no_password,
    billing_project,
    billing_target,
    dba_client,
    make_target,
)

pytestmark = pytest.mark.django_db
SECRET = "s3cret-Pa55-never-shown"


def form_data(project, **over) -> dict:
    data = {
        "name": "staging-billing", "environment": "staging", "project": project.pk, "is_active": "on",
        "host": "127.0.0.1", "port": "5432", "dbname": "billing", "user": "app", "sslmode": "require",
        "sslrootcert": "", "password": SECRET, "password_env": "",
        "lock_timeout_ms": "1000", "statement_timeout_ms": "900000",
    }
    return {**data, **over}


def test_it_stores_the_password_encrypted_and_never_renders_it(dba_client, billing_project):
    response = dba_client.post(reverse("admin:ops_target_add"), form_data(billing_project))
    assert response.status_code == 302, response.content.decode()[:2000]
    target = Target.objects.get(name="staging-billing")
    assert target.password_encrypted and SECRET not in target.password_encrypted
    assert secrets.decrypt(target.password_encrypted) == SECRET
    event = AuditEvent.objects.get(action="target.created", target=target)
    assert event.actor == "dba" and SECRET not in str(event.params)
    for url in (reverse("admin:ops_target_change", args=[target.pk]), reverse("admin:ops_target_changelist"),
                reverse("admin:ops_target_status", args=[target.pk]),
                reverse("admin:ops_auditevent_change", args=[event.pk])):
        body = dba_client.get(url).content.decode()
        assert_no_password(body, SECRET)
    change = dba_client.get(reverse("admin:ops_target_change", args=[target.pk])).content.decode()
    assert "set (encrypted)" in change
    assert 'type="password" name="password"' in change and 'name="password" value' not in change


def test_it_keeps_the_password_when_the_field_is_left_empty(dba_client, billing_project):
    dba_client.post(reverse("admin:ops_target_add"), form_data(billing_project))
    target = Target.objects.get()
    token = target.password_encrypted
    response = dba_client.post(reverse("admin:ops_target_change", args=[target.pk]),
                               form_data(billing_project, password="", lock_timeout_ms="2000"))
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.lock_timeout_ms == 2000 and target.password_encrypted == token
    assert AuditEvent.objects.filter(action="target.changed", target=target).exists()


def test_it_shows_a_password_from_the_environment_by_its_variable_name(dba_client, billing_project):
    dba_client.post(reverse("admin:ops_target_add"), form_data(billing_project, password="", password_env="MOP_TARGET_PASSWORD_BILLING"))
    assert Target.objects.get().password_env == "MOP_TARGET_PASSWORD_BILLING"
    page = dba_client.get(reverse("admin:ops_target_changelist")).content.decode()
    assert "from env MOP_TARGET_PASSWORD_BILLING" in page


def test_it_rejects_bad_connection_parts_on_the_form(dba_client, billing_project):
    response = dba_client.post(reverse("admin:ops_target_add"), form_data(billing_project, host="bad host;"))
    assert response.status_code == 200 and "Bad connection settings" in response.content.decode()
    assert not Target.objects.exists()


def test_it_forbids_deleting_a_target_that_has_runs(dba_client, billing_target):
    RunFactory(target=billing_target)
    assert dba_client.get(reverse("admin:ops_target_delete", args=[billing_target.pk])).status_code == 403
    assert Target.objects.filter(pk=billing_target.pk).exists()
