"""``manage.py ops``: every button of the portal, from the command line.

Subcommands are declared here; what each does is in the module that
``portal.ops.cli.COMMANDS`` names, and the rules are the services'. Output formats are documented in docs/cli.md.
"""

from __future__ import annotations

import os

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from migrations_ops.errors import OpsError
from portal.assure import cli as assure_cli
from portal.health import cli as health_cli
from portal.ops import cli
from portal.ops.secrets import redact

ENVIRONMENTS = ("development", "staging", "production")


class Command(BaseCommand):
    help = "Run, inspect and audit Alembic migrations on registered targets (see docs/cli.md)."
    # The system checks load every page and engine module before the first line is printed; they
    # belong to 'manage.py check' and deployment (scripts/check-deploy.sh), not to each CLI call.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", default=os.environ.get("MOP_CLI_USER", ""),
            help="Portal user to act as (default: $MOP_CLI_USER); required for commands that change anything.",
        )
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

        p = sub.add_parser("targets", help="List registered targets.")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("revisions", help="List a project's revisions (static read, nothing imported).")
        where = p.add_mutually_exclusive_group(required=True)
        where.add_argument("target", nargs="?", help="Target name (its project is listed).")
        where.add_argument("--project", metavar="PATH", help="Alembic project directory.")
        p.add_argument("--json", action="store_true")
        p.add_argument("--format", choices=("portal", "alembic"), default="portal",
                       help="alembic: exactly what 'alembic history' prints (with -v: 'alembic history -v').")
        p.add_argument("-v", "--verbose", action="store_true", help="With --format alembic: 'alembic history -v'.")

        p = sub.add_parser("status", help="A target's current revision, pending revisions and problems.")
        p.add_argument("target")
        p.add_argument("--json", action="store_true")

        for op, text in (("upgrade", "Upgrade"), ("downgrade", "Downgrade"), ("stamp", "Stamp")):
            p = sub.add_parser(op, help=f"{text} a target to REV (head, an id, +N, -N, base, label@head).")
            p.add_argument("target")
            p.add_argument("revision")
            if op != "stamp":
                p.add_argument("--sql", action="store_true", help="Print the plan's SQL (from the live revision) and exit.")
            p.add_argument("--wait", action="store_true", help="Wait for the run; exit 0 succeeded, 1 failed, 2 cancelled/interrupted.")
            p.add_argument("--acknowledge-preview-failure", action="store_true",
                           help="Schedule even though the plan's SQL preview could not be rendered (never on production).")
            p.add_argument("--confirm", "--yes-i-typed", dest="confirm", metavar="NAME",
                           help="The target's name, typed back (downgrades and production targets).")
            p.add_argument("--expect-from", metavar="REV[,REV]", help="Refuse unless the target is at these heads now.")
            p.add_argument("--lock-timeout-ms", type=int)
            p.add_argument("--statement-timeout-ms", type=int)
            p.add_argument("--lock-retries", type=int, metavar="N",
                           help="Retries after a lock_timeout for this run, 0 to 20 (default: the target's; 0 = none).")
            p.add_argument("--timeout", type=float, default=None, help="With --wait: give up waiting after N seconds.")
            p.add_argument("--json", action="store_true", help="Print the run as JSON (with --wait: once it ended).")

        p = sub.add_parser("cancel", help="Cancel a queued or running run.")
        p.add_argument("run_id", type=int)

        p = sub.add_parser("runs", help="Recent runs.")
        p.add_argument("--target")
        p.add_argument("--limit", type=int, default=20)
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("audit", help="Audit events, newest first.")
        p.add_argument("--target")
        p.add_argument("--limit", type=int, default=50)
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("verify-audit", help="Check the audit hash chain; exit 1 if it is broken.")
        p.add_argument("--expect-head", metavar="ID:HASH",
                       help="An anchor from 'ops audit-head' kept outside the portal; exit 1 if that event is "
                            "missing or differs (detects deleted newest events).")

        p = sub.add_parser("audit-head", help="Print the newest audit event as ID:HASH, to anchor it externally.")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("add-target", help="Register a target from a connection URL held in an environment variable.")
        p.add_argument("name")
        p.add_argument("--dsn-env", required=True, metavar="VAR", help="Environment variable holding postgresql://...")
        p.add_argument("--project", required=True, metavar="PATH", help="Alembic project directory.")
        p.add_argument("--project-name", help="Name for a newly registered project (default: the directory name).")
        p.add_argument("--environment", choices=ENVIRONMENTS, default="development")

        p = sub.add_parser("locks", help="Who blocks whom on a target now (the blocking tree).")
        p.add_argument("target")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("activity", help="A target's sessions: summary, long and idle-in-transaction, xmin holders.")
        p.add_argument("target")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("copy", help="Copy a SQLite file into a target (pre-flight, then its ranges spread over every worker).")
        p.add_argument("target")
        p.add_argument("--sqlite", required=True, metavar="PATH",
                       help="SQLite file relative to MOP_IMPORT_DIR (or absolute inside it); others are refused.")
        p.add_argument("--tables", nargs="+", metavar="TABLE", help="Source tables to copy (default: all).")
        p.add_argument("--preflight-only", action="store_true", help="Print the pre-flight report and stop.")
        p.add_argument("--text-policy", choices=("reject", "replace"), default="reject")
        p.add_argument("--max-rejects", type=int, help="Stop after N rejected rows (default: never).")
        p.add_argument("--create-missing-tables", action="store_true")
        p.add_argument("--drop-secondary-indexes", action="store_true")
        p.add_argument("--accept-float4-rounding", action="store_true",
                       help="Load values a real (float4) column cannot hold exactly rounded, not rejected (audited).")
        p.add_argument("--defer-constraints", action="store_true",
                       help="Drop keys and indexes of empty tables during the load, rebuild after (fastest).")
        p.add_argument("--keep-keys-during-load", dest="defer_source_keys", action="store_false",
                       help="Keep indexes and keys of empty tables during the load (by default plain indexes and "
                            "the keys the SQLite source keeps unique itself are built after it).")
        p.add_argument("--if-not-empty", choices=("refuse", "truncate", "append", "append_duplicates"),
                       default="refuse",
                       help="Target tables that already hold rows: refuse the copy (default), truncate them first "
                            "(in the copy's planning transaction; production needs --confirm), append (duplicates "
                            "become rejects; refused for a table with no key), or append_duplicates (append, "
                            "accepting that a table with no key gets its rows twice).")
        p.add_argument("--skip-table", action="append", default=[], metavar="NAME", dest="skip_tables",
                       help="Do not copy this source table (repeatable); it is listed, with its rows, as not copied.")
        p.add_argument("--fts-contentful", choices=("copy", "refuse"), default="copy",
                       help="A contentful FTS table (its rows exist nowhere else): copy it into a table with a "
                            "tsvector column and GIN index (default), or refuse until it is named in --skip-table.")
        p.add_argument("--fts-regconfig", default="simple", metavar="CONFIG",
                       help="Text search configuration of those tsvector columns (default: simple).")
        p.add_argument("--confirm", metavar="NAME", help="The target's name, typed back (production targets).")
        p.add_argument("--wait", action="store_true",
                       help="Wait for the copy; exit 0 succeeded, 4 succeeded with rejects, 1 failed, 2 stopped.")
        p.add_argument("--timeout", type=float, default=None, help="With --wait: give up waiting after N seconds.")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("rejects", help="The rejected rows of a copy run (what the admin's rejects page shows).")
        p.add_argument("run_id", type=int)
        p.add_argument("--table", metavar="TABLE", help="Only this source table.")
        fmt = p.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help="A JSON list of rejects.")
        fmt.add_argument("--csv", action="store_true", help="CSV, as the admin's download.")

        p = sub.add_parser("copy-abandon", help="Abandon a stopped copy run: rebuild what it dropped, allow new copies.")
        p.add_argument("run_id", type=int)
        p.add_argument("--reason", required=True, help="Why (kept in the audit trail).")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("verify", help="Verify a target against a SQLite file, or alone (target-only checks).")
        p.add_argument("target")
        p.add_argument("--sqlite", metavar="PATH", help="SQLite source inside MOP_IMPORT_DIR (default: target only).")
        p.add_argument("--tables", nargs="+", metavar="TABLE")
        p.add_argument("--wait", action="store_true", help="Wait for the report; exit 1 if it fails.")
        p.add_argument("--timeout", type=float, default=None)
        p.add_argument("--json", action="store_true", help="With --wait: print the report as JSON.")
        p.add_argument("--show", type=int, default=10, metavar="N",
                       help="With --wait: list up to N located keys (and differing columns) per finding.")
        p.add_argument("--copy-id", metavar="ID", help="The copy whose rejects explain rows missing in the target "
                       "(default: the latest copy of this SQLite file into the target).")
        p.add_argument("--copy-run", metavar="RUN_ID", help="The same, by the portal's copy run number (as the "
                       "admin's 'Rejects of copy run').")
        p.add_argument("--integrity", choices=("quick", "full"), help="The source's integrity check: quick "
                       "(default: PRAGMA quick_check, every page and record) or full (also each index against "
                       "its table; ten times slower on a big file).")

        p = sub.add_parser("fleet", help="Every target against head, its runs and blocked sessions (the dashboard).")
        p.add_argument("--project", help="Only this project's targets (its id).")
        p.add_argument("--environment", help="Only development, staging or production.")
        p.add_argument("--state", help="Only targets in this revision state (up_to_date, behind, ...).")
        p.add_argument("--check", action="store_true", help="Read every target's version table first (--user).")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("approvals", help="Runs awaiting approval, across targets.")
        p.add_argument("--json", action="store_true")
        for name, text in (("approve", "Approve"), ("reject", "Reject")):
            p = sub.add_parser(name, help=f"{text} a run awaiting approval (bound to the SQL, heads and scripts shown).")
            p.add_argument("run_id", type=int)
            p.add_argument("--comment", required=True, help="What you checked.")

        assure_cli.add_arguments(sub)  # drift, rehearse, backups, recovery
        health_cli.add_arguments(sub)  # health, search-parity
        sub.add_parser("reap", help="Mark runs whose worker stopped sending heartbeats as interrupted.")
        sub.add_parser("bootstrap-example", help="Create the billing example project, its targets and an admin user.")

    def handle(self, *args, **options):
        handler = cli.handler(options["subcommand"])
        try:
            handler(self, options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=2) from None
        except PermissionDenied as exc:
            raise CommandError(f"Permission denied: {exc}", returncode=2) from None
        except OpsError as exc:
            hint = f" ({exc.explanation})" if exc.explanation else ""
            raise CommandError(f"{redact(str(exc))}{hint}", returncode=2) from None
