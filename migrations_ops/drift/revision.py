"""Revision drift: the target's version table against the project's heads.

Three findings: the table names a revision the scripts no longer contain,
it holds several rows while the project has one head, or the target is
behind a head whose pending revisions are older than the allowed days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..schema.listing import RevisionListing


@dataclass(frozen=True, slots=True)
class RevisionFinding:
    code: str  # unknown_revision | multiple_heads | behind_head
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def _ancestors(listing: RevisionListing, heads: Sequence[str]) -> set[str]:
    by_id = {r.id: r for r in listing.revisions}
    seen: set[str] = set()
    todo = [h for h in heads if h in by_id]
    while todo:
        rev = todo.pop()
        if rev in seen:
            continue
        seen.add(rev)
        info = by_id[rev]
        todo.extend(p for p in (*info.parents, *info.depends_on_ids) if p in by_id)
    return seen


def revision_drift(heads: Sequence[str], listing: RevisionListing, *, behind_days: int,
                   now: datetime | None = None) -> list[RevisionFinding]:
    """Compare the version table's rows with the scripts.

    :param heads: the target's version table rows.
    :param listing: the project's revisions (read statically).
    :param behind_days: a pending revision created longer ago than this is drift.
    """
    at = now or datetime.now(UTC)
    known = {r.id for r in listing.revisions}
    findings = [RevisionFinding("unknown_revision", f"The version table names revision {h}, which the scripts "
                                "no longer contain (Alembic says \"Can't locate revision\")")
                for h in heads if h not in known]
    if len(heads) > 1 and len(listing.heads) <= 1:
        findings.append(RevisionFinding("multiple_heads", f"The version table holds {len(heads)} rows "
                                        f"({', '.join(heads)}) while the project has one head"))
    if findings:
        return findings
    applied = _ancestors(listing, heads)
    pending = [r for r in listing.revisions if r.id not in applied]
    dated = [r for r in pending if r.create_date is not None]
    if dated:
        oldest = min(dated, key=lambda r: r.create_date)  # type: ignore[arg-type, return-value]
        created = oldest.create_date if oldest.create_date.tzinfo else oldest.create_date.replace(  # type: ignore[union-attr]
            tzinfo=UTC)
        if at - created > timedelta(days=behind_days):
            findings.append(RevisionFinding(
                "behind_head", f"{len(pending)} revision(s) pending; the oldest, {oldest.id} "
                f"({oldest.message}), was created {(at - created).days} days ago (allowed: {behind_days})"))
    return findings
