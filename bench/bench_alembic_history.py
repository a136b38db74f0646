"""``ops revisions --format alembic`` against the real ``alembic history``, and the 600-revision project graph.

    python bench/bench_alembic_history.py [--revisions 600] [--runs 5]

Part 1, new processes (the user path: what a script that parses ``alembic history`` runs),
interleaved CLI / ours and compared by wall time and CPU time (user + system of the child):
``alembic history``, ``alembic history -v``, and ``manage.py ops revisions --project DIR
--format alembic [-v]`` (which also boots Django), warm (the listing cache holds these scripts, as
from the second listing on) and cold (an empty cache every run: Alembic's map is built). Every run's output is compared byte for
byte with the CLI's (same ``PYTHONHASHSEED``).

Part 2, in-process (labelled so): what the project page computes for its graph, before
(listing re-read and the full SVG drawn at every view) and after (listing and SVG cached by
scripts fingerprint, linear chains collapsed).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from migrations_ops.schema import graph_collapse  # noqa: E402
from migrations_ops.schema.graph_svg import render_graph  # noqa: E402
from migrations_ops.schema.project import ProjectSource, resolve_project  # noqa: E402
from migrations_ops.schema.revisions import clear_cache, list_revisions  # noqa: E402
from tests.engine.big_history import make_big_project  # noqa: E402

BIN = Path(sys.executable).parent
COLD = "ops revisions --format alembic, cold cache"


def timed(args: list[str], cwd: Path, var: Path | None = None) -> tuple[float, float, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": "0", **({"MOP_VAR_DIR": str(var)} if var else {})}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall * 1000, cpu * 1000, proc.stdout


def in_process(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--revisions", type=int, default=600)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    root = make_big_project(Path(tempfile.mkdtemp()) / "big", args.revisions)
    cases = {
        "alembic history (CLI)": ([str(BIN / "alembic"), "history"], root),
        "ops revisions --format alembic": ([sys.executable, str(ROOT / "manage.py"), "ops", "revisions",
                                            "--project", str(root), "--format", "alembic"], ROOT),
        "alembic history -v (CLI)": ([str(BIN / "alembic"), "history", "-v"], root),
        "ops revisions --format alembic -v": ([sys.executable, str(ROOT / "manage.py"), "ops", "revisions",
                                               "--project", str(root), "--format", "alembic", "-v"], ROOT),
        "ops revisions --json": ([sys.executable, str(ROOT / "manage.py"), "ops", "revisions", "--project",
                                  str(root), "--json"], ROOT),
        "ops revisions": ([sys.executable, str(ROOT / "manage.py"), "ops", "revisions", "--project", str(root)],
                          ROOT),
        "floor: manage.py ops revisions --help": ([sys.executable, str(ROOT / "manage.py"), "ops", "revisions",
                                                   "--help"], ROOT),
        COLD: ([sys.executable, str(ROOT / "manage.py"), "ops", "revisions", "--project", str(root), "--format",
                "alembic"], ROOT),
    }
    warm_var = Path(tempfile.mkdtemp()) / "var"  # the listing cache of every warm run (filled by the first)
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
    outputs: dict[str, bytes] = {}
    for _ in range(args.runs):
        for name, (cmd, cwd) in cases.items():
            var = Path(tempfile.mkdtemp()) / "var" if name == COLD else warm_var
            wall, cpu, out = timed(cmd, cwd, var)
            results[name].append((wall, cpu))
            outputs[name] = out
    assert outputs["ops revisions --format alembic"] == outputs["alembic history (CLI)"]
    assert outputs["ops revisions --format alembic -v"] == outputs["alembic history -v (CLI)"]
    assert outputs[COLD] == outputs["alembic history (CLI)"]
    base = statistics.median(c for _, c in results["alembic history (CLI)"])
    print(f"{args.revisions} revisions, medians of {args.runs} runs (new processes; outputs byte-identical; "
          "ops runs read the listing cache its first run filled, except the cold one)")
    print(f"{'command':40} {'wall ms':>8} {'CPU ms':>8} {'CPU vs CLI':>10}")
    for name, samples in results.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        print(f"{name:40} {wall:8.0f} {cpu:8.0f} {cpu / base:9.2f}x")

    project = resolve_project(ProjectSource(location=str(root)))
    marks = {list_revisions(project).revisions[300].id: ["big-staging"]}

    def before() -> None:
        clear_cache()
        render_graph(list_revisions(project), marks=marks)

    def after_cold() -> None:
        clear_cache()
        graph_collapse.clear()
        listing = graph_collapse.cached_listing(project)
        folded, _ = graph_collapse.collapse_chains(listing, pinned=marks)
        render_graph(folded, marks=marks)

    def after_warm() -> None:
        listing = graph_collapse.cached_listing(project)
        graph_collapse.cached_graph((listing.fingerprint, "bench"), lambda: render_graph(listing, marks=marks))

    fingerprint = in_process(lambda: resolve_project(ProjectSource(location=str(root))), args.runs)
    listing = list_revisions(project)
    full = render_graph(listing, marks=marks)
    folded = render_graph(graph_collapse.collapse_chains(listing, pinned=marks)[0], marks=marks)
    print("\nin-process, CPU ms (median): the project page's graph")
    print(f"{'before: listing re-read + full SVG every view':52} {in_process(before, args.runs):8.1f}")
    print(f"{'after, cold: cached listing + collapsed SVG':52} {in_process(after_cold, args.runs):8.1f}")
    print(f"{'after, warm: both from the fingerprint cache':52} {in_process(after_warm, args.runs):8.1f}")
    print(f"{'resolve_project (the fingerprint, every view)':52} {fingerprint:8.1f}")
    print(f"SVG: full {len(full) // 1024} KiB, {full.split('height=')[1].split()[0]} px high; collapsed "
          f"{len(folded) // 1024} KiB, {folded.split('height=')[1].split()[0]} px high")


if __name__ == "__main__":
    main()
