"""The difference of two schema snapshots, as a list of objects a DBA can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .take import SchemaSnapshot, split_key

# Tables first, then what hangs off them, so that a list reads top-down.
KIND_ORDER = ("schema", "extension", "type", "table", "column", "constraint", "index", "sequence", "view",
              "materialized view", "function", "trigger")


@dataclass(frozen=True, slots=True)
class Change:
    """One object that differs: ``added`` (only in after), ``removed`` (only in before) or ``changed``."""

    kind: str
    name: str
    change: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The attributes that differ (changed objects only)."""
        if self.before is None or self.after is None:
            return ()
        keys = sorted(set(self.before) | set(self.after))
        return tuple(k for k in keys if self.before.get(k) != self.after.get(k))

    def describe(self) -> str:
        """One line: ``index public.ix_invoices_due removed``, ``column public.t.c changed: nullable True -> False``.

        >>> Change("index", "public.ix_a", "removed", {"definition": "CREATE INDEX"}).describe()
        'index public.ix_a removed'
        >>> Change("column", "public.t.c", "changed", {"nullable": True}, {"nullable": False}).describe()
        'column public.t.c changed: nullable True -> False'
        """
        if self.change != "changed":
            return f"{self.kind} {self.name} {self.change}"
        parts = [f"{k} {_short(self.before, k)} -> {_short(self.after, k)}" for k in self.fields]
        return f"{self.kind} {self.name} changed: {'; '.join(parts)}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "before": self.before,
                "after": self.after, "fields": list(self.fields), "text": self.describe()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        return cls(data["kind"], data["name"], data["change"], data.get("before"), data.get("after"))


def _short(attrs: dict[str, Any] | None, key: str) -> str:
    value = (attrs or {}).get(key)
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True, slots=True)
class SchemaDiff:
    """Objects added, removed or changed from ``before`` to ``after``."""

    changes: tuple[Change, ...]

    @property
    def equal(self) -> bool:
        return not self.changes

    def lines(self) -> list[str]:
        return [c.describe() for c in self.changes]

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.changes]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]] | None) -> SchemaDiff:
        return cls(tuple(Change.from_json(d) for d in data or ()))

    def counts(self) -> dict[str, int]:
        """How many objects were added, removed and changed."""
        out = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            out[c.change] += 1
        return out


def diff(before: SchemaSnapshot, after: SchemaSnapshot) -> SchemaDiff:
    """List the objects that differ between two snapshots, tables before their columns.

    >>> a = SchemaSnapshot({"table public.t": {}, "index public.ix": {"definition": "x"}})
    >>> b = SchemaSnapshot({"table public.t": {}, "column public.t.c": {"nullable": True}})
    >>> diff(a, b).lines()
    ['column public.t.c added', 'index public.ix removed']
    """
    changes = []
    for key in before.objects.keys() | after.objects.keys():
        kind, name = split_key(key)
        old, new = before.objects.get(key), after.objects.get(key)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "changed"
        changes.append(Change(kind, name, change, old, new))
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    changes.sort(key=lambda c: (rank.get(c.kind, len(rank)), c.name, c.change))
    return SchemaDiff(tuple(changes))
