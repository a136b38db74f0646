"""The bookkeeping schema ``mop`` and a role that happens to be named ``mop``.

PostgreSQL's default ``search_path`` is ``"$user", public``: for a role named
``mop`` that may use schema ``mop``, an unqualified ``CREATE TABLE`` lands in
the copy's bookkeeping schema instead of ``public``. No schema name is safe
from this (any name can be a role's), so the schema keeps its name and is put
out of that role's way: ``"$user"`` is skipped for a role without USAGE on
the schema, so the copy revokes it from a role named ``mop`` that is not the
copy's own role (nor a superuser, which ACLs do not bind). When the copy
itself connects as ``mop`` that cannot be done without locking the copy out
of its own state: the pre-flight and the copy then say so, with the statement
that fixes it for that role.
"""

from __future__ import annotations

import psycopg

from .sqlfiles import q, t

SCHEMA = "mop"


def user_path_clash(conn: psycopg.Connection) -> tuple[bool, bool] | None:
    """``(is_self, is_super)`` of a role named like the schema whose ``"$user"`` resolves to it; None if none."""
    row = conn.execute(q("copy_bookkeeping_user_path")).fetchone()
    return (bool(row[0]), bool(row[1])) if row else None


def advice(dbname: str) -> str:
    """What the DBA should know and run when the clash cannot be removed by the copy."""
    return (f'role {SCHEMA} may use the copy\'s bookkeeping schema {SCHEMA}: its search_path "$user" puts its '
            f"unqualified CREATE TABLE there instead of public. Run: ALTER ROLE {SCHEMA} IN DATABASE "
            f'"{dbname}" SET search_path = public (or qualify the names)')


def put_out_of_the_way(conn: psycopg.Connection) -> str | None:
    """Revoke the schema from a role named like it (not the copy's own, not a superuser); else the advice.

    :returns: None when there is nothing to do, else a line for the run's log.
    """
    clash = user_path_clash(conn)
    if clash is None:
        return None
    is_self, is_super = clash
    if not is_self and not is_super:
        conn.execute(t("copy_t_bookkeeping_revoke"))
        return (f'revoked schema {SCHEMA} from role {SCHEMA}: its search_path "$user" no longer puts its '
                "unqualified tables in the copy's bookkeeping schema")
    return advice(str(conn.info.dbname))


def preflight_problem(conn: psycopg.Connection) -> str | None:
    """The pre-flight's line when the copy could not remove the clash itself (it connects as that role)."""
    clash = user_path_clash(conn)
    return advice(str(conn.info.dbname)) if clash is not None and (clash[0] or clash[1]) else None
