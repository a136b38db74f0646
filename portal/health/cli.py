"""``manage.py ops health`` and ``ops search-parity``: the Health and search parity pages on the command line."""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError

from portal.ops.cli.common import acting_user, check_view, dump_json, target_named
from portal.ops.models import Run

from .models import ParityCheck
from .windows import WINDOWS

# ``ops`` imports this module at every start to declare the subcommands: the health services, the engine's
# readings and the search parity check (which loads the copy engine) are imported by the commands that use them.


def add_arguments(sub) -> None:
    """Declare the subcommands on ``ops``'s subparsers."""
    p = sub.add_parser("health", help="A target's health over time: charts' figures, slow statements, indexes, events.")
    p.add_argument("target")
    p.add_argument("--window", choices=tuple(WINDOWS), default="6h")
    p.add_argument("--since", type=int, metavar="RUN_ID",
                   help="Compare the figures before and after this succeeded run (same window length).")
    p.add_argument("--now", action="store_true", help="Take a reading first (--user; otherwise the stored ones).")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("search-parity", help="Compare FTS5 MATCH in the SQLite source with PostgreSQL search.")
    p.add_argument("target")
    p.add_argument("--sqlite", required=True, metavar="PATH", help="The source SQLite file inside MOP_IMPORT_DIR.")
    p.add_argument("--table", required=True, help="The FTS5 table (its copy has the same name).")
    p.add_argument("--schema", default="public")
    p.add_argument("--regconfig", default="", help="Text search configuration (default: the column's).")
    p.add_argument("--query", action="append", default=[], dest="queries", metavar="Q",
                   help='A query: word, "a b" (AND), \'"a b"\' (phrase), word* (prefix); repeatable. '
                        "None: drawn from the data.")
    p.add_argument("--count", type=int, default=20, help="Queries drawn from the data when none are given.")
    p.add_argument("--wait", action="store_true", help="Wait for the report; exit 1 if a query differs.")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--json", action="store_true")


def cmd_health(command, options) -> None:
    """Print a target's health (``--json``: the same as the page's figures), or the comparison around a run."""
    from . import services  # noqa: PLC0415 - see the note above

    user = acting_user(options, required=options["now"], what="health --now")
    check_view(user, "ops.view_target")
    target = target_named(options["target"])
    if options["since"] is not None:
        run = Run.objects.select_related("target").filter(pk=options["since"], target=target).first()
        if run is None:
            raise ValidationError(f"No run #{options['since']} on target {target.name}")
        s = services.since_run(run, user=user)
        if options["json"]:
            return dump_json(command, services.since_json(s))
        return _print_since(command, s)
    if options["now"]:
        services.require(user, "ops.schedule_run")
        row = services.take(target)
        services.judge(target, row)
    hv = services.view(target, options["window"], user=user)
    if options["json"]:
        return dump_json(command, services.as_json(hv))
    _print_view(command, hv)


def _print_view(command, hv) -> None:
    from migrations_ops.health import human  # noqa: PLC0415

    out = command.stdout.write
    if hv.latest is None:
        out(f"{hv.target.name}: no health snapshot yet (the periodic task takes them; or ops health --now)")
        return
    s, r = hv.latest, hv.reading
    out(f"{hv.target.name}: {len(hv.snapshots)} snapshots in the last {hv.window}; latest #{s.pk} at "
        f"{s.taken_at:%Y-%m-%d %H:%M:%S} ({s.seconds * 1000:.0f} ms)")
    tps = f"{s.tps:.1f}/s" if s.tps is not None else "-"
    rb = human(s.rollback_rate, "ratio") if s.rollback_rate is not None else "-"
    out(f"  connections {s.connections}, active {s.active}, blocked {s.blocked}, longest transaction "
        f"{s.longest_xact_seconds or 0:.1f}s, {tps}, rollback rate {rb}, size {human(s.size_bytes, 'bytes')}")
    out(f"slow statements ({len(hv.statements)}):" if not r.statements_note else f"statements: {r.statements_note}")
    for st in hv.statements[:10]:
        out(f"  {st.mean_ms:.2f} ms mean x {st.calls}: {' '.join(st.query.split())[:90]}")
    out(f"unused indexes ({len(r.unused_indexes)} of {r.index_count}):")
    for i in r.unused_indexes:
        out(f"  {i.schema}.{i.index} on {i.table} ({human(i.size_bytes, 'bytes')})")
    out(f"duplicate indexes ({len(r.duplicate_indexes)}):")
    for d in r.duplicate_indexes:
        out(f"  {d.schema}.{d.table}: {', '.join(d.indexes)}")
    out(f"tables to analyze or vacuum ({len(r.maintenance)}):")
    for m in r.maintenance:
        why = "never analyzed" if m.never_analyzed else f"{(m.dead_share or 0) * 100:.0f}% dead rows"
        out(f"  {m.schema}.{m.table}: {why} ({m.live_rows} live, {m.dead_rows} dead)")
    out(f"events ({len(hv.events)}):")
    for e in hv.events:
        state = "open" if e.closed_at is None else f"closed {e.closed_at:%H:%M}"
        out(f"  {e} — {e.value:g} at {e.opened_at:%Y-%m-%d %H:%M} ({state})")


def _print_since(command, s) -> None:
    from migrations_ops.health import human  # noqa: PLC0415

    out = command.stdout.write
    out(f"Run #{s.run.pk} ({s.run.operation}): {s.window.total_seconds() / 60:.0f} min before vs after")
    for name, w in (("before", s.before), ("after", s.after)):
        tps = f"{w.tps:.1f}/s" if w.tps is not None else "-"
        size = human(w.size_bytes_end, "bytes") if w.size_bytes_end is not None else "-"
        blocked = w.max_blocked if w.max_blocked is not None else "-"
        out(f"  {name}: {w.readings} snapshots, {tps}, size {size}, max blocked {blocked}")
    if not s.statements:
        out("  no statement ran on both sides (or pg_stat_statements is not enabled)")
    for st in s.statements[:15]:
        out(f"  {st['mean_ms_before']:.3f} ms -> {st['mean_ms_after']:.3f} ms: {' '.join(st['query'].split())[:80]}")


def cmd_search_parity(command, options) -> None:
    """Ask for a parity check; with --wait print its report (exit 1 when a query differs)."""
    from . import parity  # noqa: PLC0415

    user = acting_user(options, required=True, what="search-parity")
    check = parity.request_check(target_named(options["target"]), sqlite=options["sqlite"], table=options["table"],
                                 schema=options["schema"], regconfig=options["regconfig"],
                                 queries=options["queries"], count=options["count"], user=user)
    if not options["wait"]:
        command.stdout.write(f"Search parity check #{check.pk} queued")
        return
    deadline = time.monotonic() + options["timeout"]
    while check.status in (ParityCheck.Status.QUEUED, ParityCheck.Status.RUNNING):
        if time.monotonic() > deadline:
            raise ValidationError(f"Search parity check #{check.pk} still {check.status} after {options['timeout']} s")
        time.sleep(0.3)
        check.refresh_from_db()
    if check.status == ParityCheck.Status.FAILED:
        raise ValidationError(f"Search parity check #{check.pk} failed: {check.error}")
    if options["json"]:
        dump_json(command, {"check": check.pk, **check.report})
    else:
        _print_parity(command, check)
    if check.matching != check.total:
        raise SystemExit(1)


def _print_parity(command, check) -> None:
    from . import parity  # noqa: PLC0415

    out = command.stdout.write
    r = parity.report_of(check)
    out(f"Search parity #{check.pk}: {r.sqlite_table} (FTS5, {r.tokenizer}) vs {r.pg_table} with {r.regconfig!r} "
        f"(column: {r.column_regconfig!r}, default_text_search_config: {r.default_text_search_config!r}); "
        f"{r.matching}/{len(r.queries)} queries find the same rows")
    for q in r.queries:
        mark = "=" if q.same else "!"
        out(f" {mark} {q.query.label:<28} sqlite {q.sqlite_count:>6} pg {q.pg_count:>6} both {q.both:>6} "
            f"jaccard {q.jaccard:.3f}  ({q.sqlite_ms:.1f} / {q.pg_ms:.1f} ms)  tsquery {q.tsquery or '(empty)'}")
        for side, ex in (("only sqlite", q.only_sqlite), ("only pg", q.only_pg)):
            for e in ex[:2]:
                out(f"     {side} #{e.key}: {e.text[:90]}")
        for c in q.causes:
            out(f"     cause: {c}")
    for a in r.advice:
        out(f"advice: {a}")
