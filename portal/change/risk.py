"""The portal's call into the risk engine: a plan's risk on its live target and its findings grouped."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from migrations_ops.errors import OpsError
from migrations_ops.risk import HIGH, LOW, assess_target
from migrations_ops.risk.grouping import group_findings
from portal.ops.secrets import redact

log = logging.getLogger(__name__)


def assess(target, sql: str, findings: list[dict]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(risk JSON, grouped findings JSON) of a plan on ``target`` (connects to the target, read only).

    When the live figures cannot be read the plan is rated high, saying why:
    an unknown table size is not a small one.
    """
    try:
        risk = assess_target(target.conn(), sql or "", findings).to_json()
    except (OpsError, psycopg.Error) as exc:
        log.warning("risk of a plan on %s not assessed: %s", target.name, exc)
        from migrations_ops.risk.assess import assess_plan
        from migrations_ops.risk.locks import plan_locks

        risk = assess_plan(plan_locks(sql or ""), {}, findings).to_json()
        risk["level"] = HIGH
        risk["reasons"].insert(0, {"level": HIGH, "table": "", "rule": "",
                                   "text": f"Live table figures could not be read: {redact(str(exc))[:300]}"})
    hot = {r["table"] for r in risk["reasons"] if r["table"] and r["level"] != LOW}
    groups = group_findings(findings, sql or "", created_tables=risk["created_tables"], hot_tables=hot)
    return risk, [g.to_json() for g in groups]
