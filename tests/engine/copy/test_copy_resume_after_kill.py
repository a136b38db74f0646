"""A copy SIGKILLed in the middle of a range resumes with no duplicate and no missing row."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from copy_helpers import pg_exec

from migrations_ops.copy import CopyOptions, copy_database, list_rejects
from migrations_ops.errors import TargetBusy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
CHECKED = {  # table: key column, then text columns compared byte for byte
    "users": ("user_id", "display_name"), "device_auth": ("device_id", "user_id"), "credits": ("id", "user_id"),
    "token_balances": ("id", "model_id"), "token_pricing": ("id", "model_name"),
    "transactions": ("id", "transaction_id", "user_id", "type"),
}


def target_url(t) -> str:
    return (f"postgresql://{urllib.parse.quote(t.user)}:{urllib.parse.quote(t.password)}@{t.host}:{t.port}/"
            f"{urllib.parse.quote(t.dbname)}")


def source_checksums(path: Path, rejected: dict[str, set[str]]) -> dict[str, tuple[int, str]]:
    out = {}
    conn = sqlite3.connect(path)
    conn.text_factory = lambda b: b.decode("utf-8", "replace")
    for table, cols in CHECKED.items():
        rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {cols[0]}").fetchall()
        kept = sorted((r for r in rows if str(r[0]) not in rejected.get(table, set())), key=lambda r: r[0])
        text = "\n".join("|".join(str(v) for v in r) for r in kept)
        out[table] = (len(kept), hashlib.md5(text.encode()).hexdigest())
    return out


def target_checksums(target) -> dict[str, tuple[int, str]]:
    out = {}
    for table, cols in CHECKED.items():
        expr = " || '|' || ".join(f"coalesce({c}::text, 'None')" for c in cols)
        n, agg = pg_exec(target, f"SELECT count(*), coalesce(string_agg({expr}, E'\\n' ORDER BY {cols[0]}), '') FROM {table}")[0]
        out[table] = (n, hashlib.md5(agg.encode()).hexdigest())
    return out


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        assert time.monotonic() < end, "the child never reached the middle of a range"
        time.sleep(0.05)


def resume(path: Path, target, copy_id: str):
    for _ in range(100):  # the killed backend may take a moment to notice its client is gone
        try:
            return copy_database(path, target, CopyOptions(range_rows=500, batch_rows=100), copy_id=copy_id)
        except TargetBusy:
            time.sleep(0.1)
    pytest.fail("target lock never released after the kill")


def test_it_resumes_a_killed_copy_without_duplicates_or_gaps(billing_sqlite, billing_target, tmp_path) -> None:
    path, manifest = billing_sqlite
    marker = tmp_path / "marker"
    env = {**os.environ, "MOP_COPY_TARGET_URL": target_url(billing_target), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "copy_kill_script.py"), str(path), "kill1", str(marker)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker, proc)
        killed_table, killed_lo = marker.read_text().split()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = pg_exec(billing_target, "SELECT table_name, range_lo, finished_at FROM mop.copy_checkpoint WHERE copy_id = 'kill1'")
    assert before, "at least one range committed before the kill"
    assert (killed_table, int(killed_lo)) not in {(t, lo) for t, lo, _ in before}

    summary = resume(path, billing_target, "kill1")

    after = {(t, lo): f for t, lo, f in pg_exec(
        billing_target, "SELECT table_name, range_lo, finished_at FROM mop.copy_checkpoint WHERE copy_id = 'kill1'")}
    assert all(after[(t, lo)] == f for t, lo, f in before), "committed ranges were skipped, not redone"
    assert (killed_table, int(killed_lo)) in after, "the killed range was redone"
    rejected: dict[str, set[str]] = {}
    for r in list_rejects(billing_target, "kill1"):
        rejected.setdefault(r.table, set()).add(r.key)
    assert sum(len(v) for v in rejected.values()) == len(manifest.rejects)
    assert target_checksums(billing_target) == source_checksums(path, rejected)
    assert summary.rows_imported + summary.rows_rejected == manifest.total_rows


def test_it_refuses_a_second_copy_while_one_runs(billing_sqlite, billing_target, tmp_path) -> None:
    path, _ = billing_sqlite
    marker = tmp_path / "marker"
    env = {**os.environ, "MOP_COPY_TARGET_URL": target_url(billing_target), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "copy_kill_script.py"), str(path), "first", str(marker)],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(marker, proc)
        with pytest.raises(TargetBusy) as exc:
            copy_database(path, billing_target, CopyOptions(), copy_id="second")
        assert exc.value.fields["holder_application"] == "mop:copy:first"
        assert "mop:copy:first" in str(exc.value)
    finally:
        proc.kill()
        proc.wait(10)
