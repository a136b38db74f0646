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

from .. import queries
from ..target import TargetConn, connect
from .errors import ScratchFailed

SCRATCH_PREFIX = "mop_scratch_"
SPARE = "spare"  # the purpose of a database made ahead, empty, for the next claim
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


def claim_spare(server: TargetConn, purpose: str) -> TargetConn | None:
    """Take a spare scratch database made ahead (``make_spare``) by renaming it; None when there is none.

    CREATE DATABASE costs a checkpoint-bound copy of template0 (a tenth of a
    second to a second on a busy server); a rename costs a catalog update. The
    rename is the claim: of two workers renaming the same spare one fails and
    tries the next. The new name carries the claim's time, so the reaper
    measures a rehearsal's age from its start, not from when the spare was made.
    """
    try:
        with connect(server, "mop:scratch") as conn:
            spares = [r[0] for r in conn.execute(queries.get("scratch_spares"),
                                                 {"prefix": _like_prefix(SPARE)}).fetchall()]
            for spare in spares:
                if not _NAME_RE.match(spare):
                    continue
                name = scratch_name(purpose)
                try:
                    conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(spare), sql.Identifier(name)))
                except psycopg.Error:
                    continue  # claimed by someone else meanwhile, or a session is in it
                return replace(server, dbname=name)
    except psycopg.Error:
        return None  # no spare to be had: the caller creates a database as before
    return None


def make_spare(server: TargetConn) -> str | None:
    """Create one spare scratch database on ``server`` unless one is waiting; returns its name when made."""
    try:
        with connect(server, "mop:scratch") as conn:
            if conn.execute(queries.get("scratch_spares"), {"prefix": _like_prefix(SPARE)}).fetchall():
                return None  # one this role can claim is waiting (another role's spare is no use to it)
    except psycopg.Error as exc:
        raise ScratchFailed(server.where(), str(exc).strip()) from None
    return create_scratch(server, "spare").dbname


def _like_prefix(purpose: str) -> str:
    r"""The LIKE pattern of scratch names of one purpose.

    >>> _like_prefix("spare")
    'mop\\_scratch\\_spare\\_%'
    """
    return (SCRATCH_PREFIX + purpose + "_").replace("_", "\\_") + "%"


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
def scratch_database(server: TargetConn, purpose: str, *, spare: bool = False) -> Iterator[TargetConn]:
    """A scratch database for the duration of a ``with`` block, dropped after it whatever happens.

    :param spare: take a spare made ahead when there is one, and make the next spare after the drop
        (the caller has its result by then; the next claim finds the database ready).
    """
    scratch = (claim_spare(server, purpose) if spare else None) or create_scratch(server, purpose)
    try:
        yield scratch
    finally:
        drop_scratch(server, scratch.dbname)
        if spare:
            try:
                make_spare(server)
            except ScratchFailed:
                pass  # only a later claim is slower; the reaper makes one on its next round


def reap_scratch(server: TargetConn, max_age_s: float, now: float | None = None, *,
                 keep_spare: bool = True) -> list[str]:
    """Drop scratch databases older than ``max_age_s``, and make a spare; returns the names dropped.

    Spares are empty and never in use, so they are not dropped for age; the
    newest one of this role is kept and its others dropped (two workers may
    both make one).

    :param server: the rehearsal server to clean.
    :param max_age_s: a live rehearsal is never older than this (keep it above the longest one).
    :param keep_spare: make a spare when none is waiting, so the next rehearsal need not create one.
    """
    at = time.time() if now is None else now
    with connect(server, "mop:scratch-reaper") as conn:
        names = [r[0] for r in conn.execute(queries.get("scratch_databases"),
                                            {"prefix": SCRATCH_PREFIX.replace("_", "\\_") + "%"}).fetchall()]
        # Only this role's spares (newest first): another role's are its own reaper's business.
        spares = [r[0] for r in conn.execute(queries.get("scratch_spares"), {"prefix": _like_prefix(SPARE)})]
    dropped = []
    for name in names:
        m = _NAME_RE.match(name)
        if m is None:
            continue
        old = at - int(m["epoch"]) > max_age_s
        if (m["purpose"] == SPARE and name in spares[1:]) or (m["purpose"] != SPARE and old):  # spares: never for age
            drop_scratch(server, name)
            dropped.append(name)
    if keep_spare:
        make_spare(server)
    return dropped
