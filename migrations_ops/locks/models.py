"""Typed rows and results of the lock diagnostics, with a JSON round trip.

Rows are filled by ``kwargs_row`` straight from the queries in
``migrations_ops/queries/``, so field names are the queries' column names.
Everything here is frozen so a snapshot taken at 02:00 cannot change after.
``to_json()`` gives plain dicts and lists (datetimes as ISO 8601 strings) that
a Django ``JSONField`` stores; ``from_json()`` rebuilds the same objects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Self, TypeVar

PORTAL_PREFIX = "mop:"
_RUN_RE = re.compile(r"^mop:run:(\d+)$")


def is_portal_application(application_name: str | None) -> bool:
    """Whether a backend belongs to the portal itself (its application_name starts with ``mop:``).

    >>> is_portal_application("mop:run:42"), is_portal_application("billing-web"), is_portal_application(None)
    (True, False, False)
    """
    return bool(application_name) and application_name.startswith(PORTAL_PREFIX)


def run_id_of(application_name: str | None) -> int | None:
    """The run id of a portal migration backend (``mop:run:<id>``), else None.

    >>> run_id_of("mop:run:42"), run_id_of("mop:diag"), run_id_of("mop:run:x")
    (42, None, None)
    """
    m = _RUN_RE.match(application_name or "")
    return int(m.group(1)) if m else None


class _Json:
    """``to_json()`` and ``from_json()`` of the frozen results below (see the module docstring)."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for a JSONField); ``from_json`` reverses it."""
        return to_jsonable(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | str) -> Self:
        return from_jsonable(cls, json.loads(data) if isinstance(data, str) else data)


@dataclass(frozen=True, slots=True)
class _Backend(_Json):
    """The pg_stat_activity columns every session query returns (``Session``, ``BlockingRow``, ``BlockingNode``)."""

    pid: int
    backend_start: dt.datetime | None
    datname: str | None
    usename: str | None
    application_name: str
    client_addr: str | None
    backend_type: str
    state: str | None
    xact_start: dt.datetime | None
    xact_seconds: float | None
    query_seconds: float | None
    state_seconds: float | None
    wait_event_type: str | None
    wait_event: str | None
    xmin_age: int | None
    query: str

    @property
    def is_portal(self) -> bool:
        """Whether this is one of the portal's own backends (``mop:`` application_name)."""
        return is_portal_application(self.application_name)

    @property
    def run_id(self) -> int | None:
        """The portal run this backend executes, if it is one (``mop:run:<id>``)."""
        return run_id_of(self.application_name)


@dataclass(frozen=True, slots=True)
class Session(_Backend):
    """One backend as the list queries return it (long transactions, idle in transaction, xmin)."""


@dataclass(frozen=True, slots=True)
class BlockingRow(_Backend):
    """A row of ``blocking_sessions.sql``: a session, whom it waits for, and on what lock."""

    blocked_by: list[int]
    lock_mode: str | None
    lock_type: str | None
    relation: str | None


@dataclass(frozen=True, slots=True)
class BlockingNode(_Backend):
    """A session in the blocking tree, with the sessions it blocks as children.

    ``blocks_directly`` and ``blocks_transitively`` count distinct sessions over
    the whole wait graph; a session blocked by several others appears once in
    the tree, under its first blocker, and ``blocked_by`` lists them all.
    ``in_cycle`` marks sessions of a deadlock the server has not broken yet.
    """

    blocked_by: tuple[int, ...]
    lock_mode: str | None
    lock_type: str | None
    relation: str | None
    blocks_directly: int
    blocks_transitively: int
    in_cycle: bool = False
    children: tuple[BlockingNode, ...] = ()

    def walk(self, depth: int = 0) -> Iterator[tuple[int, BlockingNode]]:
        """This node and its descendants, depth first, with their depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)


@dataclass(frozen=True, slots=True)
class BlockingTree(_Json):
    """Root blockers first (most sessions blocked first), each with its subtree."""

    roots: tuple[BlockingNode, ...] = ()

    def walk(self) -> Iterator[tuple[int, BlockingNode]]:
        """Every node, depth first, with its depth: the rows of the table view."""
        for root in self.roots:
            yield from root.walk()

    def find(self, pid: int) -> BlockingNode | None:
        return next((n for _, n in self.walk() if n.pid == pid), None)

    @property
    def blocked_count(self) -> int:
        """How many sessions wait behind someone (every node that is not a plain root)."""
        return sum(1 for _, n in self.walk() if n.blocked_by)

    def __bool__(self) -> bool:
        return bool(self.roots)


@dataclass(frozen=True, slots=True)
class ActivitySummary(_Json):
    """The summary strip: connections, sessions by state, the oldest things (current database)."""

    datname: str
    connections: int
    max_connections: int
    sessions: int
    active: int
    idle: int
    idle_in_transaction: int
    waiting: int
    blocked: int
    longest_xact_seconds: float | None
    longest_xact_pid: int | None
    longest_query_seconds: float | None
    longest_query_pid: int | None
    oldest_xmin_age: int | None
    oldest_xmin_pid: int | None

    @property
    def connections_ratio(self) -> float:
        """Share of max_connections in use, 0..1."""
        return self.connections / self.max_connections if self.max_connections else 0.0


@dataclass(frozen=True, slots=True)
class Snapshot(_Json):
    """What a target looked like at one moment: stored by the portal, rendered later."""

    taken_at: dt.datetime
    target: str
    server_version: int
    summary: ActivitySummary
    tree: BlockingTree
    long_transactions: tuple[Session, ...] = ()
    idle_in_transaction: tuple[Session, ...] = ()
    xmin_holders: tuple[Session, ...] = ()
    seconds: float = 0.0
    version: int = field(default=1)

    @property
    def server_version_text(self) -> str:
        """``server_version_num`` as people write it (``150020`` -> ``15.20``).

        >>> Snapshot.server_version_text.fget(type("S", (), {"server_version": 150020})())
        '15.20'
        """
        major, minor = divmod(self.server_version, 10000)
        return f"{major}.{minor}"


@dataclass(frozen=True, slots=True)
class ActionResult(_Json):
    """What a cancel or terminate did, for the audit record.

    ``victim`` is the backend's whole pg_stat_activity row as it was just
    before the signal. ``blocked_before`` are the sessions it blocked then
    (directly or not); ``still_blocked`` those still waiting on a lock at the
    last look; ``cleared`` is true when none is.
    """

    action: str
    pid: int
    backend_start: dt.datetime
    actor_note: str
    signalled: bool
    victim: dict[str, Any]
    blocked_before: tuple[int, ...]
    still_blocked: tuple[int, ...]
    cleared: bool
    victim_gone: bool
    at: dt.datetime


# --- JSON ----------------------------------------------------------------------

T = TypeVar("T")


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, tuples to lists, datetimes to ISO strings; recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def from_jsonable(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild dataclass ``cls`` from ``to_jsonable`` output, following its type hints."""
    hints = typing.get_type_hints(cls)
    kwargs = {f.name: _decode(hints[f.name], data[f.name]) for f in dataclasses.fields(cls) if f.name in data}
    return cls(**kwargs)


def _decode(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(args[0], value) if len(args) == 1 else value
    if origin is tuple:
        return tuple(_decode(typing.get_args(tp)[0], v) for v in value)
    if origin is list:
        return [_decode(typing.get_args(tp)[0], v) for v in value]
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if dataclasses.is_dataclass(tp):
        return from_jsonable(tp, value)
    return value
