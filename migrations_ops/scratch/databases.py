"""Scratch databases: named ``mop_scratch_<purpose>_<epoch>_<random>`` so a reaper can tell their age.

The creation time lives in the name because the catalogs do not keep it: a
worker killed mid-rehearsal leaves its database behind, and the reaper drops
every database with the prefix older than the allowed age.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import psycopg
from psycopg import sql

from ..target import TargetConn, connect
from .errors import ScratchFailed

SCRATCH_PREFIX = "mop_scratch_"
_NAME_RE = re.compile(r"^mop_scratch_(?P<purpose>[a-z]+)_(?P<epoch>\d{10})_[0-9a-f]{8}$")


def scratch_name(purpose: str, at: float | None = None) -> str:
    """A fresh scratch database name.

    >>> scratch_name("rehearse", 1767225600)[:32]
    'mop_scratch_rehearse_1767225600_'
    """
    if not re.fullmatch(r"[a-z]{1,20}", purpose):
        raise ValueError(f"bad scratch purpose {purpose!r}")
    return f"{SCRATCH_PREFIX}{purpose}_{int(time.time() if at is None else at):010d}_{secrets.token_hex(4)}"


def create_scratch(server: TargetConn, purpose: str) -> TargetConn:
    """Create an empty scratch database on ``server``; returns the connection settings to it."""
    name = scratch_name(purpose)
    try:
        with connect(server, "mop:scratch") as conn:
            # FILE_COPY (PostgreSQL 15+) copies template0's few files instead of WAL-logging each block:
            # several times faster for an empty scratch database, and it is thrown away anyway.
            strategy = sql.SQL(" STRATEGY FILE_COPY") if conn.info.server_version >= 150000 else sql.SQL("")
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(name)) + strategy)
    except psycopg.Error as exc:
        raise ScratchFailed(server.where(), str(exc).strip()) from None
    return replace(server, dbname=name)


def drop_scratch(server: TargetConn, name: str) -> None:
    """Drop a scratch database (and its sessions); refuses any name without the scratch prefix."""
    if not _NAME_RE.match(name):
        raise ScratchFailed(server.where(), f"{name!r} is not a scratch database name; not dropped")
    try:
        with connect(server, "mop:scratch") as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise ScratchFailed(server.where(), str(exc).strip()) from None


@contextmanager
def scratch_database(server: TargetConn, purpose: str) -> Iterator[TargetConn]:
    """A scratch database for the duration of a ``with`` block, dropped after it whatever happens."""
    scratch = create_scratch(server, purpose)
    try:
        yield scratch
    finally:
        drop_scratch(server, scratch.dbname)


def reap_scratch(server: TargetConn, max_age_s: float, now: float | None = None) -> list[str]:
    """Drop scratch databases older than ``max_age_s``; returns the names dropped.

    :param server: the rehearsal server to clean.
    :param max_age_s: a live rehearsal is never older than this (keep it above the longest one).
    """
    at = time.time() if now is None else now
    with connect(server, "mop:scratch-reaper") as conn:
        names = [r[0] for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (SCRATCH_PREFIX.replace("_", r"\_") + "%",)
        ).fetchall()]
    dropped = []
    for name in names:
        m = _NAME_RE.match(name)
        if m and at - int(m["epoch"]) > max_age_s:
            drop_scratch(server, name)
            dropped.append(name)
    return dropped
