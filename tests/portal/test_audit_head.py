"""Anchoring the audit chain outside the portal: ops audit-head, and verify-audit --expect-head.

The chain alone proves that no event was edited or removed *between* two
events that are still there; deleting the newest events leaves a shorter
chain that is still intact. An anchor (ID:HASH) kept elsewhere catches that.
"""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from portal.ops import audit
from tests.portal.test_audit_chain import record_three, without_trigger

pytestmark = pytest.mark.django_db


def ops(*args) -> str:
    out = io.StringIO()
    call_command("ops", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_audit_head_prints_the_newest_event_as_id_and_hash():
    events = record_three()
    anchor = ops("audit-head").strip()
    assert anchor == f"{events[-1].pk}:{events[-1].hash}"
    data = json.loads(ops("audit-head", "--json"))
    assert (data["id"], data["hash"], data["anchor"]) == (events[-1].pk, events[-1].hash, anchor)
    assert data["created_at"]


def test_audit_head_refuses_an_empty_trail():
    from portal.ops.models import AuditEvent

    if AuditEvent.objects.exists():
        pytest.skip("the trail is not empty in this database")
    with pytest.raises(CommandError, match="empty") as exc:
        ops("audit-head")
    assert exc.value.returncode == 2
    assert json.loads(ops("audit-head", "--json"))["anchor"] is None


def test_verify_audit_accepts_a_matching_anchor_and_later_events():
    events = record_three()
    anchor = ops("audit-head").strip()
    audit.record(actor="dba", actor_kind="user", action="test.later")
    out = ops("verify-audit", "--expect-head", anchor)
    assert out.startswith("OK:") and f"anchored event #{events[-1].pk} matches" in out


@pytest.mark.django_db(transaction=True)  # the owner tampers on a connection of its own
def test_deleting_the_newest_events_is_caught_only_against_the_anchor():
    events = record_three()
    anchor = ops("audit-head").strip()
    without_trigger("DELETE FROM ops_auditevent WHERE id >= %s", [events[1].pk])

    assert audit.verify_chain().ok, "a truncated chain is still a valid chain: the limit the anchor covers"
    assert ops("verify-audit").startswith("OK:")
    with pytest.raises(CommandError, match=rf"anchored event #{events[2].pk} is missing") as exc:
        ops("verify-audit", "--expect-head", anchor)
    assert exc.value.returncode == 1


@pytest.mark.django_db(transaction=True)  # the owner tampers on a connection of its own
def test_a_rewritten_chain_is_caught_against_the_anchor():
    """Someone deletes the newest event and appends a forged one with the same id, rehashed."""
    events = record_three()
    anchor = ops("audit-head").strip()
    last = events[-1]
    forged = dict(params={"i": "forged"})
    without_trigger("DELETE FROM ops_auditevent WHERE id = %s", [last.pk])
    last.params = forged["params"]
    last.hash = audit.compute_hash(last)
    last.save(force_insert=True)

    assert audit.verify_chain().ok, "the forger recomputed the hash: the chain alone cannot tell"
    report = audit.verify_chain(expect_head=anchor)
    assert not report.ok and report.first_bad_id == last.pk and "differs from the anchor" in report.reason
    with pytest.raises(CommandError, match="differs from the anchor") as exc:
        ops("verify-audit", "--expect-head", anchor)
    assert exc.value.returncode == 1


@pytest.mark.parametrize("bad", ["41", "x:" + "a" * 64, "41:abc", "41:" + "g" * 64])
def test_a_malformed_anchor_is_bad_input(bad):
    record_three()
    with pytest.raises(CommandError, match="ID:HASH") as exc:
        ops("verify-audit", "--expect-head", bad)
    assert exc.value.returncode == 2


def test_audit_head_checks_the_view_permission(viewer):
    from django.contrib.auth.models import User

    record_three()
    assert ops("--user", viewer.username, "audit-head").strip()
    nobody = User.objects.create_user("nobody", password="x-unused-0")
    with pytest.raises(CommandError, match="Permission denied"):
        ops("--user", nobody.username, "audit-head")
