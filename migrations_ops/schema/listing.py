"""A project's revisions as the portal lists them: plain data, no Alembic.

``revisions.list_revisions`` builds a ``RevisionListing`` with Alembic's
``RevisionMap``; this module holds only the result, so a listing read back
from ``listing_cache`` (``from_json``) is printed without importing Alembic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import AmbiguousRevision, OpsError, RevisionNotFound

JSON_SCHEMA = "mop.revisions/1"


class BrokenRevisionHistory(OpsError):
    code = "broken_revision_history"
    explanation = (
        "Some revision files cannot be read or do not form a valid history (a syntax error, no "
        "revision id, a down_revision that no file has, a cycle, a duplicated id). Alembic itself "
        "would refuse this project; fix the files listed."
    )

    def __init__(self, problems: Iterable[RevisionProblem]) -> None:
        problems = list(problems)
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"Revision history is broken: {first.path or first.revision}: {first.reason}{more}",
            problems=[p.to_json() for p in problems],
        )


@dataclass(frozen=True, slots=True)
class RevisionProblem:
    """A file or revision Alembic could not load; listed instead of raised."""

    code: str
    path: str | None
    reason: str
    revision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "path": self.path, "revision": self.revision, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RevisionProblem:
        return cls(data["code"], data["path"], data["reason"], data["revision"])


@dataclass(frozen=True, slots=True)
class RevisionInfo:
    """One revision as its file declares it, with its place in the graph."""

    id: str
    parents: tuple[str, ...]
    depends_on: tuple[str, ...]
    branch_labels: tuple[str, ...]
    message: str
    create_date: datetime | None
    path: str
    children: tuple[str, ...]
    is_head: bool
    is_base: bool
    is_branch_point: bool
    is_merge_point: bool
    depends_on_ids: tuple[str, ...] = ()
    dependents: tuple[str, ...] = ()
    branch_names: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()  # the op.<name> it uses, read statically (custom_ops)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "parents": list(self.parents),
            "children": list(self.children),
            "depends_on": list(self.depends_on),
            "depends_on_ids": list(self.depends_on_ids),
            "dependents": list(self.dependents),
            "branch_labels": list(self.branch_labels),
            "branch_names": list(self.branch_names),
            "message": self.message,
            "create_date": self.create_date.isoformat() if self.create_date else None,
            "path": self.path,
            "is_head": self.is_head,
            "is_base": self.is_base,
            "is_branch_point": self.is_branch_point,
            "is_merge_point": self.is_merge_point,
            "operations": list(self.operations),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RevisionInfo:
        created = data["create_date"]
        return cls(
            id=data["id"], parents=tuple(data["parents"]), depends_on=tuple(data["depends_on"]),
            branch_labels=tuple(data["branch_labels"]), message=data["message"],
            create_date=datetime.fromisoformat(created) if created else None, path=data["path"],
            children=tuple(data["children"]), is_head=data["is_head"], is_base=data["is_base"],
            is_branch_point=data["is_branch_point"], is_merge_point=data["is_merge_point"],
            depends_on_ids=tuple(data["depends_on_ids"]), dependents=tuple(data["dependents"]),
            branch_names=tuple(data["branch_names"]), operations=tuple(data["operations"]),
        )


@dataclass(frozen=True, slots=True)
class RevisionListing:
    """Every revision newest first (``alembic history`` order), and what could not be read."""

    revisions: tuple[RevisionInfo, ...]
    heads: tuple[str, ...]
    bases: tuple[str, ...]
    problems: tuple[RevisionProblem, ...] = ()
    fingerprint: str = ""
    _by_id: dict[str, RevisionInfo] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for r in self.revisions:
            self._by_id[r.id] = r

    def get(self, ident: str) -> RevisionInfo:
        """Find a revision by id, unique id prefix, or branch label (raises ``RevisionNotFound``).

        :param ident: a full id, a unique prefix of at least four characters, or a branch label.
        """
        if ident in self._by_id:
            return self._by_id[ident]
        labelled = [r for r in self.revisions if ident in r.branch_labels]
        if labelled:
            return labelled[0]
        if len(ident) < 4:
            raise RevisionNotFound(ident, "a partial id needs at least four characters, as in Alembic")
        matches = sorted(r.id for r in self.revisions if r.id.startswith(ident))
        if len(matches) == 1:
            return self._by_id[matches[0]]
        if matches:
            raise AmbiguousRevision(ident, matches)
        raise RevisionNotFound(ident)

    def to_json(self) -> dict[str, Any]:
        """The stable JSON document of ``ops revisions --json`` (docs/engine-api.md, Revisions),
        as plain dicts and lists like the engine's other ``to_json()``; ``dumps()`` gives the text."""
        return {
            "schema": JSON_SCHEMA,
            "fingerprint": self.fingerprint,
            "heads": list(self.heads),
            "bases": list(self.bases),
            "revisions": [r.to_json() for r in self.revisions],
            "problems": [p.to_json() for p in self.problems],
        }

    def dumps(self, indent: int | None = 2) -> str:
        """``to_json()`` as JSON text, for the command line."""
        return json.dumps(self.to_json(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RevisionListing:
        """The listing ``to_json()`` wrote (raises ``ValueError`` for another schema)."""
        if data.get("schema") != JSON_SCHEMA:
            raise ValueError(f"not a {JSON_SCHEMA} document")
        return cls(
            revisions=tuple(RevisionInfo.from_json(r) for r in data["revisions"]),
            heads=tuple(data["heads"]), bases=tuple(data["bases"]),
            problems=tuple(RevisionProblem.from_json(p) for p in data["problems"]),
            fingerprint=data["fingerprint"],
        )
