"""SQLite files damaged on purpose, the way they arrive in real life: cut off, with a broken page, or not SQLite.

Each builder copies a good file to ``dest`` and damages the copy; the bytes are
deterministic (a seeded ``random.Random``), so a failure reproduces.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

PAGE = 4096


def good_sqlite(path: Path, rows: int = 4000) -> Path:
    """A valid file with two related tables spread over many pages (about 800 KB)."""
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size = {PAGE}")
    conn.executescript(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE items (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id), v TEXT);"
    )
    with conn:
        conn.executemany("INSERT INTO users (name) VALUES (?)", [(f"user-{i:05d}" * 8,) for i in range(rows)])
        conn.executemany("INSERT INTO items (user_id, v) VALUES (?, ?)", [(i % rows + 1, "x" * 60) for i in range(rows)])
    conn.close()
    return path


def truncated(good: Path, dest: Path) -> Path:
    """The first half of the file, as an interrupted transfer leaves it."""
    shutil.copyfile(good, dest)
    with dest.open("r+b") as f:
        f.truncate(good.stat().st_size // 2)
    return dest


def flipped_pages(good: Path, dest: Path) -> Path:
    """Header and schema intact, but random bytes written over the middle of several b-tree pages."""
    shutil.copyfile(good, dest)
    rnd = random.Random(10)
    with dest.open("r+b") as f:
        for page in (3, 5, 40, 80, 120):
            f.seek(PAGE * page + 200)
            f.write(rnd.randbytes(300))
    return dest


def text_file(good: Path, dest: Path) -> Path:
    """A text file that only carries the name."""
    del good
    dest.write_text("id,name\n1,alice\n2,bob\n" * 50)
    return dest


def empty_file(good: Path, dest: Path) -> Path:
    del good
    dest.write_bytes(b"")
    return dest


def encrypted(good: Path, dest: Path) -> Path:
    """What a SQLCipher file looks like without its key: random bytes from the first one on."""
    dest.write_bytes(random.Random(11).randbytes(good.stat().st_size))
    return dest


DAMAGES: dict[str, Callable[[Path, Path], Path]] = {
    "truncated": truncated, "flipped_pages": flipped_pages, "text_file": text_file,
    "empty_file": empty_file, "encrypted": encrypted,
}
