"""Benchmark: list a 600-revision project statically vs. ``alembic history``.

Generates an Alembic project (two bases, feature branches, two- and
three-parent merges, depends_on, branch labels; files shaped like Alembic's
template, importing ``op`` and ``sqlalchemy``) in a temp dir, then times:

1. ``list_revisions`` in a new process (cold: nothing imported, nothing
   cached), wall time of the whole process and time of the call inside it;
2. ``list_revisions`` in-process with the parse cache cleared, and warm;
3. the real ``alembic -c <ini> history`` CLI on the same scripts (subprocess);
4. Alembic's API ``ScriptDirectory.walk_revisions()`` in-process (fresh
   ``ScriptDirectory`` each run, so every file is imported again);
5. ``render_graph`` on the listing.

Medians of ``--runs`` runs. Usage: ``.venv/bin/python bench/bench_listing.py [--revisions 600] [--runs 7]``
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic.config import Config  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402

from migrations_ops.schema.graph_svg import render_graph  # noqa: E402
from migrations_ops.schema.project import ProjectSource, resolve_project  # noqa: E402
from migrations_ops.schema.revisions import clear_cache, list_revisions  # noqa: E402

TEMPLATE = '''"""{message}

Revision ID: {rev}
Revises: {revises}
Create Date: 2024-{month:02d}-{day:02d} 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = {rev!r}
down_revision: Union[str, Sequence[str], None] = {down!r}
branch_labels: Union[str, Sequence[str], None] = {labels!r}
depends_on: Union[str, Sequence[str], None] = {depends!r}


def upgrade() -> None:
    op.add_column("t_{n}", sa.Column("c_{n}", sa.String(length=50), nullable=True))
    op.create_index("ix_t_{n}_c_{n}", "t_{n}", ["c_{n}"])


def downgrade() -> None:
    op.drop_index("ix_t_{n}_c_{n}", table_name="t_{n}")
    op.drop_column("t_{n}", "c_{n}")
'''


def generate(root: Path, count: int, seed: int = 2) -> Path:
    """Write a project of ``count`` revisions; returns its alembic.ini."""
    versions = root / "alembic" / "versions"
    versions.mkdir(parents=True)
    ini = root / "alembic.ini"
    ini.write_text(
        "[alembic]\nscript_location = %(here)s/alembic\npath_separator = os\n"
        "sqlalchemy.url = sqlite://\n\n[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n"
        "[formatters]\nkeys = generic\n\n[logger_root]\nlevel = WARNING\nhandlers = console\n\n"
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nformatter = generic\n\n"
        "[formatter_generic]\nformat = %(message)s\n"
    )
    (root / "alembic" / "env.py").write_text("")
    (root / "alembic" / "script.py.mako").write_text("")
    rng = random.Random(seed)
    ids = [f"{rng.getrandbits(48):012x}" for _ in range(count)]
    tips: list[str] = []
    for n, rev in enumerate(ids):
        labels = depends = None
        roll = rng.random()
        if n in (0, 1):  # two bases, each a labelled branch
            down, labels = None, ("core" if n == 0 else "reports")
        elif roll < 0.04 and len(tips) >= 3:  # a merge of three heads
            down = tuple(rng.sample(tips, 3))
        elif roll < 0.14 and len(tips) >= 2:  # a merge of two
            down = tuple(rng.sample(tips, 2))
        else:
            down = rng.choice(tips)
        parents = down if isinstance(down, tuple) else (down,) if down else ()
        branching = len(parents) == 1 and len(tips) < 6 and rng.random() < 0.12
        for p in parents:
            if not branching:  # the parent stays a tip when a second branch grows from it
                tips.remove(p)
        tips.append(rev)
        if n > 2 and rng.random() < 0.03:
            depends = rng.choice(ids[: n - 1])
        (versions / f"{rev}_step_{n}.py").write_text(
            TEMPLATE.format(
                rev=rev, down=down, labels=labels, depends=depends,
                revises=", ".join(parents) or "", message=f"step {n}: change table t_{n}",
                month=1 + n % 12, day=1 + n % 28, n=n,
            )
        )
    return ini


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """Median CPU time of ``fn`` in this process (robust to other processes' load)."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1000)
    return statistics.median(times)


COLD = """
import sys, time
t0 = time.perf_counter()
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import list_revisions
project = resolve_project(ProjectSource(sys.argv[1]))
t1 = time.process_time()
listing = list_revisions(project)
t2 = time.process_time()
assert len(listing.revisions) == int(sys.argv[2]), len(listing.revisions)
print((t2 - t1) * 1000)
"""


def child(cmd: list[str]) -> tuple[float, float, str]:
    """Run a process: (wall ms, CPU ms of user + system, stdout). CPU time is what load from
    other processes on a shared machine disturbs least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    wall = (time.perf_counter() - start) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--revisions", type=int, default=600)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    alembic_bin = Path(sys.executable).parent / "alembic"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        ini = generate(root, args.revisions)
        project = resolve_project(ProjectSource(str(root)))

        def api() -> None:
            revs = list(ScriptDirectory.from_config(Config(str(ini))).walk_revisions())
            assert len(revs) == args.revisions

        def ours_cleared() -> None:
            clear_cache()
            list_revisions(project)

        cli_cmd = [str(alembic_bin), "-c", str(ini), "history"]
        contenders = {
            "cli": cli_cmd,
            "cold": [sys.executable, "-c", COLD, str(root), str(args.revisions)],
            "floor": [sys.executable, "-c", "import migrations_ops.schema.project, migrations_ops.schema.revisions"],
        }
        assert child(cli_cmd)[2].count("->") == args.revisions  # also writes the files' bytecode once
        # interleaved, so that load from other processes hits every contender alike
        runs: dict[str, list[tuple[float, float, str]]] = {k: [] for k in contenders}
        for _ in range(args.runs):
            for name, cmd in contenders.items():
                runs[name].append(child(cmd))

        def med(name: str, i: int) -> float:
            return statistics.median(float(r[i]) for r in runs[name])

        cold_call = statistics.median(float(r[2]) for r in runs["cold"])
        api_ms = median_ms(api, args.runs)
        cleared_ms = median_ms(ours_cleared, args.runs)
        warm_ms = median_ms(lambda: list_revisions(project), args.runs)
        listing = list_revisions(project)
        alembic_order = [s.revision for s in ScriptDirectory.from_config(Config(str(ini))).walk_revisions()]
        assert [r.id for r in listing.revisions] == alembic_order, "order differs from alembic history"
        marks = {listing.heads[0]: ["production"], listing.revisions[40].id: ["staging", "dev"]}
        svg_ms = median_ms(lambda: render_graph(listing, marks), args.runs)
        svg = render_graph(listing, marks)

    kinds = (
        f"{len(listing.revisions)} revisions, {len(listing.heads)} heads, {len(listing.bases)} bases, "
        f"{sum(r.is_branch_point for r in listing.revisions)} branch points, "
        f"{sum(r.is_merge_point for r in listing.revisions)} merge points "
        f"({sum(len(r.parents) == 3 for r in listing.revisions)} of three parents), "
        f"{sum(bool(r.depends_on) for r in listing.revisions)} with depends_on"
    )
    print(f"project: {kinds}; medians of {args.runs} runs, Python {sys.version.split()[0]}")
    print("| what | wall ms | CPU ms | CPU vs `alembic history` CLI |")
    print("|---|---:|---:|---:|")
    cli_cpu = med("cli", 1)
    rows = [
        ("`alembic -c alembic.ini history` (CLI, new process)", med("cli", 0), cli_cpu),
        ("`list_revisions`, new process (imports and `resolve_project` included)", med("cold", 0), med("cold", 1)),
        ("floor: a new process that only imports the engine (alembic, SQLAlchemy)", med("floor", 0), med("floor", 1)),
    ]
    for name, wall, cpu in rows:
        print(f"| {name} | {wall:.0f} | {cpu:.0f} | {cpu / cli_cpu:.2f}x |")
    print()
    print("| in-process | CPU ms |")
    print("|---|---:|")
    for name, ms in [
        ("`list_revisions` call in a new process (cold)", cold_call),
        ("`ScriptDirectory.walk_revisions()` (fresh ScriptDirectory: imports every file)", api_ms),
        ("`list_revisions`, parse cache cleared", cleared_ms),
        ("`list_revisions`, warm cache", warm_ms),
        (f"`render_graph` ({len(svg) // 1024} KiB of SVG)", svg_ms),
    ]:
        print(f"| {name} | {ms:.1f} |")


if __name__ == "__main__":
    main()
