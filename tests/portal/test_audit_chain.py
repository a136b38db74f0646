"""The audit trail is append-only in the database and its hash chain shows edits and gaps."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from portal.ops import audit
from portal.ops.models import AuditEvent
from tests.portal import portal_db


def record_three():
    return [audit.record(actor="dba", actor_kind="user", action=f"test.{i}", params={"i": i}) for i in range(3)]


def without_trigger(statement: str, params=()):
    """Tamper as the table's owner would: disable the trigger, change the table, enable it again.

    The portal's role may not (test_portal_db_privileges.py), so the owner does it on a
    connection of its own: the rows it changes must be committed (transactional tests).
    """
    if portal_db.owner_url() is None:  # a superuser portal role, as before the portal's roles lost superuser
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE ops_auditevent DISABLE TRIGGER ops_auditevent_no_update_delete")
            cur.execute(statement, params)
            cur.execute("ALTER TABLE ops_auditevent ENABLE TRIGGER ops_auditevent_no_update_delete")
        return
    with psycopg.connect(**portal_db.owner_kwargs(connection.settings_dict["NAME"])) as owner:
        owner.execute("ALTER TABLE ops_auditevent DISABLE TRIGGER ops_auditevent_no_update_delete")
        owner.execute(statement, params)
        owner.execute("ALTER TABLE ops_auditevent ENABLE TRIGGER ops_auditevent_no_update_delete")


@pytest.mark.django_db
def test_it_chains_each_event_to_the_previous_one():
    events = record_three()
    assert events[0].prev_hash == AuditEvent.objects.exclude(pk__in=[e.pk for e in events]).values_list(
        "hash", flat=True).order_by("-id").first() or audit.GENESIS_HASH
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    for e in events:
        e.refresh_from_db()
        assert audit.compute_hash(e) == e.hash
    report = audit.verify_chain()
    assert report.ok and report.checked >= 3 and report.first_bad_id is None


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE ops_auditevent SET actor = 'mallory' WHERE id = %s",
    "DELETE FROM ops_auditevent WHERE id = %s",
    "TRUNCATE ops_auditevent",
])
def test_it_refuses_update_delete_and_truncate_in_the_database(statement):
    """The portal's role lacks the privilege; a superuser portal role (before the portal's roles lost superuser) met the trigger."""
    event = record_three()[1]
    refusal = "append-only" if portal_db.owner_url() is None else "permission denied for table ops_auditevent"
    with pytest.raises(DatabaseError, match=refusal), transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(statement, [event.pk] if "%s" in statement else [])
    event.refresh_from_db()
    assert event.actor == "dba"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("statement", [
    "UPDATE ops_auditevent SET actor = 'mallory' WHERE id = %s",
    "DELETE FROM ops_auditevent WHERE id = %s",
    "TRUNCATE ops_auditevent",
])
def test_it_refuses_them_to_the_tables_owner_too(statement):
    """The trigger holds for the owner (migrations' role), who has every privilege on the table."""
    if portal_db.owner_url() is None:
        pytest.skip("no owner role (MOP_MIGRATE_DATABASE_URL) here")
    event = record_three()[1]
    with psycopg.connect(**portal_db.owner_kwargs(connection.settings_dict["NAME"])) as owner:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            owner.execute(statement, [event.pk] if "%s" in statement else [])
    event.refresh_from_db()
    assert event.actor == "dba" and audit.verify_chain().ok


@pytest.mark.django_db
def test_it_refuses_orm_update_and_delete():
    event = record_three()[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(outcome="succeeded")
    with pytest.raises(DatabaseError), transaction.atomic():
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk, outcome="").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("statement", "first_bad", "reason"), [
    ("UPDATE ops_auditevent SET error = 'nothing happened' WHERE id = %s", 1, "edited"),
    ("DELETE FROM ops_auditevent WHERE id = %s", 2, "deleted"),
])
def test_it_detects_an_edited_or_deleted_row(statement, first_bad, reason):
    events = record_three()
    without_trigger(statement, [events[1].pk])
    report = audit.verify_chain()
    assert not report.ok
    assert report.first_bad_id == events[first_bad].pk
    assert reason in report.reason


@pytest.mark.django_db(transaction=True)
def test_it_detects_an_edited_row_whose_hash_was_recomputed():
    events = record_three()
    tampered = AuditEvent.objects.get(pk=events[1].pk)
    tampered.actor = "mallory"
    without_trigger("UPDATE ops_auditevent SET actor = 'mallory', hash = %s WHERE id = %s",
                    [audit.compute_hash(tampered), tampered.pk])
    report = audit.verify_chain()
    assert not report.ok and report.first_bad_id == events[2].pk


@pytest.mark.django_db
def test_it_never_stores_secrets_in_params():
    event = audit.record(
        actor="dba", actor_kind="user", action="target.changed",
        params={"password": "hunter2", "dsn": "x", "note": "postgresql://app:hunter2@db/x", "nested": {"secret": 1}},
        error="connect failed: password=hunter2",
    )
    event.refresh_from_db()
    assert event.params == {"note": "postgresql://app:***@db/x", "nested": {}}
    assert "hunter2" not in event.error and audit.verify_chain().ok


@pytest.mark.django_db
def test_it_refuses_an_unknown_actor_kind():
    with pytest.raises(ValueError, match="actor_kind"):
        audit.record(actor="x", actor_kind="robot", action="test")


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_chain_under_concurrent_writers():
    def write(n):
        try:
            for i in range(5):
                audit.record(actor=f"w{n}", actor_kind="system", action="test.concurrent", params={"i": i})
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 20
    report = audit.verify_chain()
    assert report.ok, report.reason
    assert len(set(AuditEvent.objects.values_list("prev_hash", flat=True))) == AuditEvent.objects.count()
