"""Drift checks: run one, store it, keep the target's drift state and its history; accept a baseline.

Steps of ``check_drift``:

1. read the target's version table and the project's revisions: revision drift;
2. find the expected schema: an accepted baseline at these heads, else the
   replay cached by scripts fingerprint and heads, else replay now (and cache);
   a history that cannot replay leaves the check in error, asking for a baseline;
3. snapshot the live schema and list the differences;
4. store the check, update the state, and write a drift event when drift
   appears, changes or disappears.
"""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.db import transaction

from migrations_ops.drift import ReplayFailed, expected_schema, revision_drift, schema_drift
from migrations_ops.errors import OpsError
from migrations_ops.schema.revisions import list_revisions
from migrations_ops.schema.state import live_heads
from migrations_ops.schema_snapshot import SchemaSnapshot
from portal.ops import audit, services
from portal.ops.models import AuditEvent, Target
from portal.ops.secrets import redact

from .models import DriftCheck, DriftEvent, DriftState, ExpectedSchema, SchemaBaseline
from .servers import rehearsal_server, settings_for


def _heads_key(heads) -> str:
    return ",".join(sorted(heads))


def _expected(target: Target, resolved, heads) -> tuple[SchemaSnapshot | None, str, str]:
    """(snapshot, source, error) of what the target's schema should be at ``heads``."""
    key = _heads_key(heads)
    baseline = SchemaBaseline.objects.filter(target=target, heads=key).first()
    if baseline is not None:
        return SchemaSnapshot.from_json(baseline.snapshot), DriftCheck.Source.BASELINE, ""
    cached = ExpectedSchema.objects.filter(project_fingerprint=resolved.fingerprint, heads=key).first()
    if cached is not None:
        return SchemaSnapshot.from_json(cached.snapshot), DriftCheck.Source.CACHE, ""
    _server, server_conn = rehearsal_server(target)
    try:
        snap = expected_schema(server_conn, resolved, heads)
    except ReplayFailed as exc:
        return None, DriftCheck.Source.NONE, f"{exc} ({exc.explanation})"
    ExpectedSchema.objects.get_or_create(project_fingerprint=resolved.fingerprint, heads=key,
                                         defaults={"snapshot": snap.to_json()})
    return snap, DriftCheck.Source.REPLAY, ""


def check_drift(target: Target, *, actor: str) -> DriftCheck:
    """Check revision and schema drift of ``target`` and record the result (connects; writes the DB)."""
    started = time.monotonic()
    conf = settings_for(target)
    conn = target.conn()
    check = DriftCheck(target=target, actor=actor, state=DriftState.ERROR)
    try:
        resolved = services.resolve(target.project)
        heads, _ = live_heads(conn, resolved, "mop:drift")
        check.heads = list(heads)
        findings = revision_drift(heads, list_revisions(resolved), behind_days=conf.drift_behind_days)
        check.revision_findings = [f.to_json() for f in findings]
        expected, check.source, check.error = (None, DriftCheck.Source.NONE, "") if any(
            f.code == "unknown_revision" for f in findings) else _expected(target, resolved, heads)
        if expected is not None:
            result = schema_drift(conn, expected, resolved.source.version_table)
            check.schema_changes = result.diff.to_json()
            check.live_snapshot = result.live.to_json()
            check.state = DriftState.DRIFT if (findings or not result.diff.equal) else DriftState.CLEAN
        elif findings:
            check.state = DriftState.DRIFT
        else:
            check.live_snapshot = schema_drift(conn, SchemaSnapshot({}), resolved.source.version_table).live.to_json()
    except (OpsError, ValidationError) as exc:
        check.error = redact(" ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc), conn.password)
    check.seconds = round(time.monotonic() - started, 3)
    return _store(target, check)


def _lines(check: DriftCheck) -> list[str]:
    return [f["message"] for f in check.revision_findings] + [c["text"] for c in check.schema_changes]


def _store(target: Target, check: DriftCheck) -> DriftCheck:
    with transaction.atomic():
        conf = settings_for(target)
        previous = conf.last_check
        check.save()
        was_open = conf.drift_state == DriftState.DRIFT
        if check.state == DriftState.DRIFT:
            if not was_open:
                DriftEvent.objects.create(target=target, kind=DriftEvent.Kind.APPEARED, drift_check=check,
                                          summary="\n".join(_lines(check)))
                conf.drift_since = check.checked_at
            elif previous is not None and _lines(previous) != _lines(check):
                DriftEvent.objects.create(target=target, kind=DriftEvent.Kind.CHANGED, drift_check=check,
                                          summary="\n".join(_lines(check)))
        elif check.state == DriftState.CLEAN and was_open:
            DriftEvent.objects.create(target=target, kind=DriftEvent.Kind.DISAPPEARED, drift_check=check)
            conf.drift_since = None
        if check.state != DriftState.ERROR or conf.drift_state != DriftState.DRIFT:
            conf.drift_state = check.state  # a failed check does not close open drift
        conf.last_check = check
        conf.save(update_fields=["drift_state", "drift_since", "last_check"])
    return check


def accept_baseline(check: DriftCheck, *, user, comment: str) -> SchemaBaseline:
    """Accept the live schema a check saw as the target's baseline at its heads (audited; writes the DB)."""
    services.require(user, "assure.accept_baseline")
    if not (comment or "").strip():
        raise ValidationError("A comment is required: say why this schema is acceptable", code="comment_required")
    if not check.live_snapshot:
        raise ValidationError(f"Drift check #{check.pk} has no live schema to accept (it failed: {check.error})")
    latest = DriftCheck.objects.filter(target=check.target).order_by("-checked_at", "-id").first()
    if latest is not None and latest.pk != check.pk:
        raise ValidationError(f"Drift check #{check.pk} is not the latest of {check.target.name}; accept the "
                              f"latest (#{latest.pk}) so you accept what the target is now", code="stale_check")
    who = user.get_username()
    with transaction.atomic():
        baseline = SchemaBaseline.objects.create(
            target=check.target, heads=_heads_key(check.heads), snapshot=check.live_snapshot, accepted_by=who,
            comment=comment.strip(), drift_check=check)
        DriftEvent.objects.create(target=check.target, kind=DriftEvent.Kind.ACCEPTED, drift_check=check,
                                  summary="\n".join(_lines(check)), actor=who)
        conf = settings_for(check.target)
        conf.drift_state, conf.drift_since = DriftState.CLEAN, None
        conf.save(update_fields=["drift_state", "drift_since"])
        audit.record(actor=who, actor_kind=AuditEvent.ActorKind.USER, action="drift.baseline_accepted",
                     target=check.target, to_revision=check.heads, outcome="accepted",
                     params={"check": check.pk, "baseline": baseline.pk, "comment": comment.strip()[:1000],
                             "objects": len(check.schema_changes), "revision_findings": len(check.revision_findings)})
    return baseline


def drift_history(target: Target, limit: int = 50):
    return DriftEvent.objects.filter(target=target).order_by("-at", "-id")[:limit]


