"""The append-only audit trail: record events into a hash chain, and verify it.

Each event's ``hash`` is sha256 over a canonical JSON of its fields plus the
previous event's hash. Writers are serialised by a transaction-scoped advisory
lock on the portal database, so the chain is a line, not a tree. The database
refuses UPDATE, DELETE and TRUNCATE on the table (migration 0002); the chain
makes an edit done with the triggers disabled, or a deleted row, detectable.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils.timezone import now

from .models import AuditEvent
from .secrets import redact as redact_text

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock(classid, objid): "mop" + "audit", away from the engine's target locks.
_LOCK_CLASS = 0x6D6F70
_LOCK_OBJ = 0x61756474
_SECRET_KEY_PARTS = ("password", "passwd", "secret", "dsn", "token", "credential")


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What ``verify_chain`` found."""

    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str


def clean_params(value: Any) -> Any:
    """Drop secret-looking keys and redact URL/``password=`` passwords, recursively.

    >>> clean_params({"dsn": "x", "lock_timeout_ms": 5, "nested": {"db_password": "p"}})
    {'lock_timeout_ms': 5, 'nested': {}}
    >>> clean_params(["postgresql://u:pw@h/db"])
    ['postgresql://u:***@h/db']
    """
    if isinstance(value, dict):
        return {
            str(k): clean_params(v)
            for k, v in value.items()
            if not any(part in str(k).lower() for part in _SECRET_KEY_PARTS)
        }
    if isinstance(value, (list, tuple)):
        return [clean_params(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def canonical(event: AuditEvent) -> str:
    """The exact text that is hashed: every recorded field, sorted keys, no whitespace."""
    body = {
        "created_at": _iso(event.created_at),
        "actor": event.actor,
        "actor_kind": event.actor_kind,
        "action": event.action,
        "target_id": event.target_id,
        "target_name": event.target_name,
        "run_id": event.run_id,
        "operation": event.operation,
        "from_revision": event.from_revision,
        "to_revision": event.to_revision,
        "params": event.params,
        "sql_hash": event.sql_hash,
        "outcome": event.outcome,
        "error": event.error,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event).encode()).hexdigest()


def _revs(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def record(
    *,
    actor: str,
    actor_kind: str,
    action: str,
    target=None,
    run=None,
    operation: str = "",
    from_revision: Any = "",
    to_revision: Any = "",
    params: dict | None = None,
    sql_hash: str = "",
    outcome: str = "",
    error: str = "",
) -> AuditEvent:
    """Append one event to the chain (writes to the DB; joins the caller's transaction).

    :param actor: username, ``schedule:<name>`` or ``system``.
    :param actor_kind: one of ``AuditEvent.ActorKind``.
    :param from_revision: a revision or a list of heads (joined with commas).
    :param params: free parameters; secret-looking keys are dropped.
    """
    if actor_kind not in AuditEvent.ActorKind.values:
        raise ValueError(f"actor_kind must be one of {AuditEvent.ActorKind.values}, not {actor_kind!r}")
    if target is None and run is not None:
        target = run.target
    # Round-trip the params through JSON now so the hash is computed over
    # exactly what the jsonb column will give back.
    clean = json.loads(json.dumps(clean_params(params or {}), default=str))
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, _LOCK_OBJ])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            created_at=now(),
            actor=actor[:150],
            actor_kind=actor_kind,
            action=action,
            target=target,
            target_name=getattr(target, "name", "") or "",
            run=run,
            operation=operation or "",
            from_revision=_revs(from_revision)[:500],
            to_revision=_revs(to_revision)[:500],
            params=clean,
            sql_hash=sql_hash or "",
            outcome=outcome or "",
            error=redact_text(error or ""),
            prev_hash=last or GENESIS_HASH,
        )
        event.hash = compute_hash(event)
        event.save(force_insert=True)
    return event


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest event of the chain, as operators anchor it outside the portal (``ID:HASH``)."""

    id: int
    hash: str
    created_at: datetime

    @property
    def anchor(self) -> str:
        return f"{self.id}:{self.hash}"


def chain_head() -> ChainHead | None:
    """The newest audit event's id and hash, or None when the trail is empty (reads the DB)."""
    row = AuditEvent.objects.order_by("-id").values_list("id", "hash", "created_at").first()
    return ChainHead(*row) if row else None


def parse_anchor(text: str) -> tuple[int, str]:
    """``"41:ab12..."`` -> ``(41, "ab12...")``; raises ValueError naming the expected form."""
    ident, sep, digest = (text or "").strip().partition(":")
    digest = digest.strip().lower()
    if not sep or not ident.strip().isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"An anchor is ID:HASH as 'ops audit-head' prints it (e.g. 41:<64 hex digits>), not {text!r}")
    return int(ident), digest


def _check_anchor(expect_head: str, checked: int) -> ChainReport:
    ident, digest = parse_anchor(expect_head)
    stored = AuditEvent.objects.filter(pk=ident).values_list("hash", flat=True).first()
    if stored is None:
        return ChainReport(
            False, checked, ident,
            f"anchored event #{ident} is missing: events from #{ident} on were deleted "
            "(or the anchor belongs to another portal)",
        )
    if stored != digest:
        return ChainReport(
            False, checked, ident,
            f"anchored event #{ident} differs from the anchor: its hash is {stored[:16]}..., the anchor says "
            f"{digest[:16]}...; the chain was rewritten from that event back",
        )
    return ChainReport(True, checked, None, f"{checked} events, chain intact, anchored event #{ident} matches")


def verify_chain(expect_head: str | None = None) -> ChainReport:
    """Walk the whole chain in id order and recompute every hash (reads the DB).

    Steps: 1 the first row must point at the genesis hash, 2 each row's
    ``prev_hash`` must equal the hash of the row before it (a deleted row breaks
    this), 3 each row's stored hash must equal the recomputed one (an edited
    row breaks this), 4 with ``expect_head`` (``ID:HASH`` kept outside the
    portal, see ``chain_head``), that event must still be there with that hash:
    the chain alone cannot show that its newest events were deleted.

    :param expect_head: an anchor from ``ops audit-head``; ValueError if malformed.
    """
    if expect_head is not None:
        parse_anchor(expect_head)  # malformed input fails before the walk
    prev = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        checked += 1
        if event.prev_hash != prev:
            return ChainReport(
                False, checked, event.pk,
                f"event #{event.pk} does not follow the previous event: a row before it was deleted or altered",
            )
        if compute_hash(event) != event.hash:
            return ChainReport(
                False, checked, event.pk, f"event #{event.pk} was edited: its content no longer matches its hash"
            )
        prev = event.hash
    if expect_head is not None:
        return _check_anchor(expect_head, checked)
    return ChainReport(True, checked, None, f"{checked} events, chain intact")
