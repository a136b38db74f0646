"""Helpers shared by the copy engine tests (plain functions, importable by the subprocess script too)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from migrations_ops.target import TargetConn


def pg(target: TargetConn) -> psycopg.Connection:
    return psycopg.connect(**target.connect_kwargs("mop-tests"), autocommit=True)


def pg_exec(target: TargetConn, statement: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    with pg(target) as c:
        cur = c.execute(statement, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []
