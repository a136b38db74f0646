"""A target never gets the portal's secrets, nor a stored password meant for another server.

A fake PostgreSQL server in the test asks every client for a cleartext
password and records what it gets: with the default settings it must get
nothing, whether the password comes from the encrypted field or from a
``password_env``, via the status page, the lock snapshot task or a plan.
"""
# ruff: noqa: F811

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from migrations_ops.target import TargetConn
from portal.ops import diagnostics, secrets, services
from portal.ops.models import AuditEvent, Target
from portal.ops.status import target_status
from tests.factories import AlembicProjectFactory, TargetFactory
from tests.fake_pg import fake_pg_server
from tests.portal.admin_helpers import dba_client, viewer_client  # noqa: F401

pytestmark = pytest.mark.django_db
PASSWORD = "stored-pw-for-the-old-server-1"
PORTAL_SECRETS = ("DATABASE_URL", "DJANGO_SECRET_KEY", "MOP_FERNET_KEYS", "REDIS_URL")


def portal_secret_values() -> list[str]:
    """The values an attacker wanted: Fernet keys, the portal DB URL and password, the secret key."""
    db_password = settings.DATABASES["default"]["PASSWORD"]
    return [settings.SECRET_KEY, *settings.MOP_FERNET_KEYS, os.environ["DATABASE_URL"], db_password]


def fake_target(server, **kw) -> Target:
    return TargetFactory(host=server.host, port=server.port, dbname="victim", user="app", sslmode="disable", **kw)


def admin_form(target: Target, **over) -> dict:
    data = {
        "name": target.name, "environment": target.environment, "project": target.project_id, "is_active": "on",
        "host": target.host, "port": str(target.port), "dbname": target.dbname, "user": target.user,
        "sslmode": target.sslmode, "sslrootcert": target.sslrootcert, "password": "",
        "password_env": target.password_env, "lock_timeout_ms": "1000", "statement_timeout_ms": "900000",
        "lock_retries": "3",
    }
    return {**data, **over}


# --- password_env: refused at save ---------------------------------------------------


@pytest.mark.parametrize("var", [*PORTAL_SECRETS, "PGPASSWORD", "BILLING_PW", "MOP_TARGET_PASSWORD_"])
def test_it_refuses_a_password_env_outside_the_prefix_at_save(dba, var):
    target = Target(name="evil", project=AlembicProjectFactory(), host="203.0.113.9", dbname="x", user="app",
                    password_env=var)
    with pytest.raises(ValidationError, match="password_env .* is refused"):
        services.save_target(target, user=dba, created=True)
    assert not Target.objects.filter(name="evil").exists()
    assert not AuditEvent.objects.filter(action="target.created").exists()


@pytest.mark.parametrize(("prefix", "var"), [("D", "DATABASE_URL"), ("DJANGO", "DJANGO_SECRET_KEY"),
                                             ("MOP_", "MOP_FERNET_KEYS"), ("RE", "REDIS_URL")])
def test_it_refuses_the_portals_settings_even_under_a_misconfigured_prefix(dba, settings, prefix, var):
    settings.MOP_TARGET_PASSWORD_ENV_PREFIX = prefix
    target = Target(name="evil", project=AlembicProjectFactory(), host="203.0.113.9", dbname="x", user="app",
                    password_env=var)
    with pytest.raises(ValidationError, match="one of the portal's own settings"):
        services.save_target(target, user=dba, created=True)


def test_it_shows_the_refusal_on_the_admin_form(dba_client):
    project = AlembicProjectFactory()
    page = dba_client.post(reverse("admin:ops_target_add"), {
        "name": "evil", "environment": "development", "project": project.pk, "is_active": "on",
        "host": "203.0.113.9", "port": "5432", "dbname": "x", "user": "app", "sslmode": "disable",
        "sslrootcert": "", "password": "", "password_env": "MOP_FERNET_KEYS",
        "lock_timeout_ms": "1000", "statement_timeout_ms": "900000", "lock_retries": "3",
    })
    assert page.status_code == 200
    text = page.content.decode()
    assert "MOP_FERNET_KEYS" in text and "must start with MOP_TARGET_PASSWORD_" in text
    assert not Target.objects.exists()


def test_it_accepts_a_password_env_under_the_prefix(dba, monkeypatch):
    monkeypatch.setenv("MOP_TARGET_PASSWORD_BILLING", "billing-pw-from-env")
    target = Target(name="ok", project=AlembicProjectFactory(), host="127.0.0.1", dbname="x", user="app",
                    password_env="MOP_TARGET_PASSWORD_BILLING")
    services.save_target(target, user=dba, created=True)
    assert Target.objects.get(name="ok").conn().password == "billing-pw-from-env"


# --- password_env: refused at connect (rows written before the check) ------------------


@pytest.mark.parametrize("var", PORTAL_SECRETS)
def test_it_refuses_an_old_row_naming_a_portal_secret_at_connect(viewer_client, var):
    with fake_pg_server() as server:
        target = fake_target(server)
        Target.objects.filter(pk=target.pk).update(password_env=var)  # as written before the check existed
        target.refresh_from_db()
        with pytest.raises(secrets.PasswordEnvRefused):
            target_status(target)
        page = viewer_client.get(reverse("admin:ops_target_status", args=[target.pk])).content.decode()
        assert diagnostics.snapshot_all_targets()["failed"] == 1
    assert "is refused" in page
    assert server.captures == []  # not even a connection
    for value in portal_secret_values():
        assert value not in page


def test_it_refuses_an_allowed_variable_holding_a_portal_secret(monkeypatch):
    monkeypatch.setenv("MOP_TARGET_PASSWORD_COPY", settings.MOP_FERNET_KEYS[0])
    with fake_pg_server() as server:
        target = fake_target(server, password_env="MOP_TARGET_PASSWORD_COPY", allow_password_auth=True)
        with pytest.raises(secrets.PasswordEnvRefused, match="its value is one of the portal's own secrets"):
            target_status(target)
    assert server.passwords == []


# --- nothing sent by default: status, snapshot, plan ----------------------------------


def test_it_sends_no_password_via_status_snapshot_or_plan_with_the_default_settings(viewer_client, monkeypatch):
    monkeypatch.setenv("MOP_TARGET_PASSWORD_EVIL", "env-pw-never-sent-2")
    with fake_pg_server() as server:
        stored = fake_target(server, name="stored", password=PASSWORD)
        from_env = fake_target(server, name="from-env", password_env="MOP_TARGET_PASSWORD_EVIL")
        for target in (stored, from_env):
            page = viewer_client.get(reverse("admin:ops_target_status", args=[target.pk]))
            assert page.status_code == 200
            assert "only SCRAM-SHA-256" in page.content.decode()
            with pytest.raises(Exception, match="cleartext"):
                services.preview_plan(target, "upgrade", "head")
        assert diagnostics.snapshot_all_targets() == {"taken": 0, "failed": 2, "purged": 0}
    assert len(server.captures) == 6
    assert {c.startup["database"] for c in server.captures} == {"victim"}
    assert server.passwords == []
    sent = " ".join(v for c in server.captures for v in c.startup.values())
    for value in [*portal_secret_values(), PASSWORD, "env-pw-never-sent-2"]:
        assert value not in sent


def test_it_allows_cleartext_only_for_the_target_with_the_legacy_override():
    with fake_pg_server() as server:
        legacy = fake_target(server, name="legacy", password="legacy-pw-3", allow_password_auth=True)
        modern = fake_target(server, name="modern", password="modern-pw-4")
        for target in (legacy, modern):
            with pytest.raises(Exception):  # noqa: B017 - the fake server refuses both, in different ways
                target_status(target)
    assert server.passwords == ["legacy-pw-3"]
    assert modern.conn().connect_kwargs("x")["require_auth"] == "scram-sha-256"
    assert "require_auth" not in legacy.conn().connect_kwargs("x")


# --- a change of server clears the stored password ----------------------------------------


def test_it_clears_the_stored_password_when_the_port_changes_and_audits_it(dba_client):
    with fake_pg_server() as server:
        target = TargetFactory(host="127.0.0.1", port=5432, dbname="billing", user="app", password=PASSWORD,
                               allow_password_auth=True)
        form = admin_form(target, port=str(server.port), allow_password_auth="on")
        response = dba_client.post(reverse("admin:ops_target_change", args=[target.pk]), form, follow=True)
        assert "The stored password was cleared because port changed" in response.content.decode()
        target.refresh_from_db()
        assert target.port == server.port and target.password_encrypted == "" and target.password_env == ""
        with pytest.raises(Exception):  # noqa: B017 - the fake server refuses; what matters is what it got
            target_status(target)
    assert server.passwords == []  # even with cleartext allowed, there was nothing to send
    event = AuditEvent.objects.filter(action="target.changed").latest("id")
    assert event.params["changed"] == ["port"] and event.params["cleared"] == ["password"]
    assert "stored password cleared: port changed" in event.params["note"]


@pytest.mark.parametrize("field_value", [("host", "db2.example"), ("dbname", "other"), ("user", "root"),
                                         ("sslmode", "disable"), ("allow_password_auth", True)])
def test_it_clears_the_password_on_any_server_or_tls_change(dba, field_value):
    name, value = field_value
    target = TargetFactory(host="db1.example", dbname="billing", user="app", sslmode="require", password=PASSWORD)
    setattr(target, name, value)
    services.save_target(target, user=dba, created=False)
    target.refresh_from_db()
    assert not target.has_password and target.password() == ""
    assert AuditEvent.objects.get(action="target.changed").params["cleared"] == ["password"]


def test_it_keeps_a_password_entered_again_in_the_same_change(dba_client):
    target = TargetFactory(host="db1.example", dbname="billing", user="app", password=PASSWORD)
    form = admin_form(target, host="db2.example", password="new-server-pw-5")
    response = dba_client.post(reverse("admin:ops_target_change", args=[target.pk]), form)
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.host == "db2.example" and target.password() == "new-server-pw-5"
    event = AuditEvent.objects.get(action="target.changed")
    assert event.params == {"changed": ["host", "password"], "note": "password changed"}


def test_it_clears_a_password_env_when_the_host_changes(dba, monkeypatch):
    monkeypatch.setenv("MOP_TARGET_PASSWORD_OLD", "old-env-pw-6")
    target = TargetFactory(host="db1.example", dbname="billing", user="app",
                           password_env="MOP_TARGET_PASSWORD_OLD")
    target.host = "db2.example"
    services.save_target(target, user=dba, created=False)
    target.refresh_from_db()
    assert target.password_env == "" and target.conn().password == ""
    assert AuditEvent.objects.get(action="target.changed").params["changed"] == ["host", "password_env"]


def test_it_keeps_the_password_when_only_a_timeout_changes(dba):
    target = TargetFactory(host="db1.example", dbname="billing", user="app", password=PASSWORD)
    target.lock_timeout_ms = 2500
    services.save_target(target, user=dba, created=False)
    target.refresh_from_db()
    assert target.password() == PASSWORD
    assert AuditEvent.objects.get(action="target.changed").params == {"changed": ["lock_timeout_ms"]}


def test_it_audits_the_legacy_auth_override(dba):
    target = TargetFactory(host="db1.example", dbname="billing", user="app")
    target.allow_password_auth = True
    services.save_target(target, user=dba, password="legacy-pw-7", created=False)
    event = AuditEvent.objects.get(action="target.changed")
    assert event.params["changed"] == ["allow_password_auth", "password"]


# --- TLS defaults ------------------------------------------------------------------------


def test_it_verifies_remote_servers_against_the_configured_ca(settings):
    settings.MOP_TARGET_SSLROOTCERT = "/etc/mop/ca.pem"
    remote = TargetFactory(host="db.example", sslmode="default")
    local = TargetFactory(host="127.0.0.1", sslmode="default")
    explicit = TargetFactory(host="db.example", sslmode="require")
    assert (remote.conn().sslmode, remote.conn().sslrootcert) == ("verify-full", "/etc/mop/ca.pem")
    assert (local.conn().sslmode, local.conn().sslrootcert) == ("prefer", None)
    assert explicit.conn().sslmode == "require"
    settings.MOP_TARGET_SSLROOTCERT = ""
    assert remote.conn().sslmode == "require"


def test_it_connects_the_example_style_target_over_tcp_with_scram(make_database):
    conn: TargetConn = make_database("scram")
    target = TargetFactory(conn=conn, password=conn.password, sslmode="default")
    status = target_status(target)
    assert status.has_version_table is False and status.current == ()


def test_it_keeps_a_new_password_env_named_with_the_host_change_and_drops_the_old_password(dba, monkeypatch):
    monkeypatch.setenv("MOP_TARGET_PASSWORD_NEW", "new-env-pw-8")
    target = TargetFactory(host="db1.example", dbname="billing", user="app", password=PASSWORD)
    target.host, target.password_env = "db2.example", "MOP_TARGET_PASSWORD_NEW"
    services.save_target(target, user=dba, created=False)
    target.refresh_from_db()
    assert target.password_encrypted == "" and target.password() == "new-env-pw-8"
    event = AuditEvent.objects.get(action="target.changed")
    assert event.params["changed"] == ["host", "password_env"] and event.params["cleared"] == ["password"]
