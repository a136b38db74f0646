"""Who blocks whom, and the sessions that hold a target back: ``ops locks`` and ``ops activity``."""

from __future__ import annotations

from .. import diagnostics
from .common import acting_user, check_view, dump_json, iso, target_named


def cmd_locks(command, options) -> None:
    """Who blocks whom on a target now: root blockers first, waiters indented under them."""
    user = acting_user(options, required=False, what="locks")
    check_view(user, "ops.view_target")
    snap = diagnostics.look(target_named(options["target"]), user=user)
    tree = snap.tree
    if options["json"]:
        return dump_json(command, {
            "target": options["target"], "taken_at": iso(snap.taken_at),
            "root_blockers": sum(1 for r in tree.roots if r.blocks_transitively),
            "blocked": tree.blocked_count, "roots": tree.to_json()["roots"],
        })
    if not tree:
        command.stdout.write(f"{options['target']}: no session is blocked")
        return
    for depth, n in tree.walk():
        waits = f" waits {n.lock_mode} on {n.relation or n.lock_type}" if n.lock_mode else ""
        blocks = f" blocks {n.blocks_directly}/{n.blocks_transitively}" if n.blocks_transitively else ""
        xact = f"{n.xact_seconds:.1f}s" if n.xact_seconds is not None else "-"
        query = " ".join(n.query.split())[:80]
        command.stdout.write(
            f"{'  ' * depth}{n.pid} [{n.state or n.backend_type}, xact {xact}]{blocks}{waits} "
            f"{n.application_name or '-'} {n.usename or '-'}: {query}"
        )


def cmd_activity(command, options) -> None:
    """A target's summary strip and its long, idle-in-transaction and xmin-holding sessions."""
    user = acting_user(options, required=False, what="activity")
    check_view(user, "ops.view_target")
    snap = diagnostics.look(target_named(options["target"]), user=user)
    if options["json"]:
        data = snap.to_json()
        return dump_json(command, {
            "target": options["target"], "taken_at": data["taken_at"], "server_version": data["server_version"],
            "summary": data["summary"], "long_transactions": data["long_transactions"],
            "idle_in_transaction": data["idle_in_transaction"], "xmin_holders": data["xmin_holders"],
        })
    s = snap.summary
    command.stdout.write(
        f"{options['target']}: {s.connections}/{s.max_connections} connections; {s.active} active, {s.idle} idle, "
        f"{s.idle_in_transaction} idle in transaction, {s.waiting} waiting, {s.blocked} blocked"
    )
    for title, sessions in (("long transactions", snap.long_transactions),
                            ("idle in transaction", snap.idle_in_transaction),
                            ("xmin holders", snap.xmin_holders)):
        command.stdout.write(f"{title}: {len(sessions)}")
        for x in sessions:
            xact = f"{x.xact_seconds:.1f}s" if x.xact_seconds is not None else "-"
            command.stdout.write(f"  {x.pid} [{x.state}, xact {xact}] {x.application_name or '-'} "
                                 f"{x.usename or '-'}: {' '.join(x.query.split())[:80]}")
