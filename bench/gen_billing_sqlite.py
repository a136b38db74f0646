"""Generate a SQLite billing database (schema of seed 000) full of nasty values.

    python bench/gen_billing_sqlite.py --transactions 1000000 --out /tmp/billing.sqlite [--seed 0]

About 1.3 rows per transaction in all: users 0.1, device_auth 0.08, credits
0.07, token_balances 0.05 per transaction, 20 pricing rows. Values include
Japanese text, emoji, NULLs, empty and long strings, 0/1 booleans, dates as
ISO with 'Z', with offsets, without zone, date-only, epoch seconds (in
transactions.created_at) and epoch milliseconds (device_auth.last_used_at),
JSON text, and a few values that cannot be loaded faithfully. Those are
listed in the manifest with the reject code the copy must give them;
orphaned foreign keys are listed too (reported, never rejected).
Deterministic for a given seed. ``generate()`` is what tests import.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
CREATE TABLE users (
    user_id VARCHAR NOT NULL, google_id VARCHAR, email VARCHAR, display_name VARCHAR,
    profile_picture_url VARCHAR, created_at DATETIME NOT NULL,
    PRIMARY KEY (user_id), UNIQUE (google_id));
CREATE TABLE device_auth (
    device_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, device_name VARCHAR,
    created_at DATETIME NOT NULL, last_used_at DATETIME,
    PRIMARY KEY (device_id), FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE);
CREATE TABLE credits (
    id INTEGER NOT NULL, user_id VARCHAR NOT NULL, credits INTEGER NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME,
    PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE, UNIQUE (user_id));
CREATE TABLE token_balances (
    id INTEGER NOT NULL, user_id VARCHAR NOT NULL, model_id VARCHAR NOT NULL,
    allocated_tokens BIGINT NOT NULL, consumed_tokens BIGINT NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME,
    PRIMARY KEY (id), FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE,
    UNIQUE (user_id, model_id));
CREATE TABLE token_pricing (
    id INTEGER NOT NULL, model_id VARCHAR NOT NULL, model_name VARCHAR NOT NULL,
    credit_per_token FLOAT NOT NULL, capacity_limit BIGINT, is_active BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL, PRIMARY KEY (id), UNIQUE (model_id));
CREATE TABLE transactions (
    id INTEGER NOT NULL, transaction_id VARCHAR NOT NULL, user_id VARCHAR NOT NULL, type VARCHAR NOT NULL,
    amount INTEGER NOT NULL, description VARCHAR, metadata JSON, created_at DATETIME NOT NULL,
    PRIMARY KEY (id), UNIQUE (transaction_id),
    FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE);
CREATE INDEX ix_transactions_user_id ON transactions (user_id);
CREATE INDEX ix_transactions_created_at ON transactions (created_at);
"""

TYPED_TARGET_DDL = """
CREATE TABLE users (
    user_id text PRIMARY KEY, google_id text UNIQUE, email text, display_name text,
    profile_picture_url text, created_at timestamptz NOT NULL);
CREATE TABLE device_auth (
    device_id text PRIMARY KEY, user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    device_name text, created_at timestamptz NOT NULL, last_used_at timestamptz);
CREATE TABLE credits (
    id serial PRIMARY KEY, user_id text NOT NULL UNIQUE REFERENCES users (user_id) ON DELETE CASCADE,
    credits integer NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz);
CREATE TABLE token_balances (
    id serial PRIMARY KEY, user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    model_id text NOT NULL, allocated_tokens bigint NOT NULL, consumed_tokens bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL, updated_at timestamptz, UNIQUE (user_id, model_id));
CREATE TABLE token_pricing (
    id serial PRIMARY KEY, model_id text NOT NULL UNIQUE, model_name text NOT NULL,
    credit_per_token double precision NOT NULL, capacity_limit bigint, is_active boolean NOT NULL,
    created_at timestamptz NOT NULL);
CREATE TABLE transactions (
    id serial PRIMARY KEY, transaction_id text NOT NULL UNIQUE,
    user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE, type text NOT NULL,
    amount integer NOT NULL, description text, metadata jsonb, created_at timestamptz NOT NULL);
CREATE INDEX ix_transactions_user_id ON transactions (user_id);
CREATE INDEX ix_transactions_created_at ON transactions (created_at);
"""
"""The typed PostgreSQL schema the example Alembic project builds (for tests and the benchmark)."""

TABLES = ("users", "device_auth", "credits", "token_balances", "token_pricing", "transactions")
NAMES = ("佐藤 花子", "山田太郎", "José Núñez", "Zoë 🦊", "", "O'Brien \"Bob\"", "李小龍", "Ünïcödé ✓", "👩‍💻 dev")
WORDS = ("チャージ", "refund", "購入 🎉", "monthly plan", "お試し", "credit top-up", "\t tab", "line\nbreak")
MODELS = ("gpt-4o", "claude-3", "gemini-pro", "llama-3", "mistral")


@dataclass
class Manifest:
    """What was generated: row counts, the rejects a faithful copy must give, the orphans."""

    rows: dict[str, int] = field(default_factory=dict)
    rejects: list[tuple[str, str, str, str]] = field(default_factory=list)
    """(table, key, column, reject code) for each value that must be rejected."""
    orphans: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


_CLEAN = False


def _when(rng: random.Random, i: int, style: int) -> str | int:
    """A moment in 2023-2024 written in one of the styles a SQLite app leaves behind."""
    if _CLEAN and style == 4:
        style = 0
    epoch = 1672531200 + (i * 7919 + rng.randrange(86400)) % 63072000
    t = time.gmtime(epoch)
    if style == 0:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", t)
    if style == 1:
        local = time.gmtime(epoch + 9 * 3600)
        return time.strftime("%Y-%m-%dT%H:%M:%S+09:00", local)
    if style == 2:
        return time.strftime("%Y-%m-%d %H:%M:%S", t) + f".{i % 1000000:06d}"
    if style == 3:
        return time.strftime("%Y-%m-%d", t)
    return epoch


def generate(path: str | Path, transactions: int, seed: int = 0, clean: bool = False) -> Manifest:
    """Write the SQLite file at ``path`` (replaced if present) and return its manifest.

    :param clean: leave out epoch dates and invalid values (same sizes, same valid
        nasty text): the variant pgloader can load, for a best-case baseline.
    """
    p = Path(path)
    if p.exists():
        p.unlink()
    rng = random.Random(seed)
    m = Manifest()
    global _CLEAN
    _CLEAN = clean
    n_users = max(10, transactions // 10)
    conn = sqlite3.connect(p)
    conn.executescript(SCHEMA)
    with conn:
        _users(conn, rng, n_users, m)
        _devices(conn, rng, max(5, transactions * 8 // 100), n_users, m)
        _credits(conn, rng, min(n_users, max(5, transactions * 7 // 100)), m)
        _balances(conn, rng, max(5, transactions * 5 // 100), n_users, m)
        _pricing(conn, m)
        _transactions(conn, rng, transactions, n_users, m)
    conn.close()
    return m


def _users(conn: sqlite3.Connection, rng: random.Random, n: int, m: Manifest) -> None:
    rows = []
    for i in range(n):
        name = NAMES[i % len(NAMES)] + (f" {i}" if i % 3 else "")
        email = None if i % 17 == 0 else ("" if i % 23 == 0 else f"user{i}@例え.jp")
        pic = None if i % 4 else "https://cdn.example/" + "p" * (i % 300) + f"/{i}.png"
        rows.append((f"u{i:08d}", None if i % 5 == 0 else f"g{i}", email, name, pic, _when(rng, i, i % 4)))
    conn.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)", rows)
    m.rows["users"] = n


def _devices(conn: sqlite3.Connection, rng: random.Random, n: int, n_users: int, m: Manifest) -> None:
    rows = []
    orphans = max(1, n // 20000)
    for i in range(n):
        user = f"ghost{i}" if i < orphans else f"u{rng.randrange(n_users):08d}"
        last = None if i % 6 == 0 else (_when(rng, i, 4) * 1000 + i % 1000 if i % 2 and not _CLEAN  # type: ignore[operator]
                                        else _when(rng, i, 0))
        rows.append((f"d{i:08d}", user, "iPhone 15 📱" if i % 2 else "ノートPC", _when(rng, i, i % 3), last))
    conn.executemany("INSERT INTO device_auth VALUES (?, ?, ?, ?, ?)", rows)
    m.rows["device_auth"] = n
    m.orphans["device_auth"] = orphans


def _credits(conn: sqlite3.Connection, rng: random.Random, n: int, m: Manifest) -> None:
    rows = [(i + 1, f"u{i:08d}", rng.randrange(0, 100000), _when(rng, i, 0), None if i % 2 else _when(rng, i, 2))
            for i in range(n)]
    conn.executemany("INSERT INTO credits VALUES (?, ?, ?, ?, ?)", rows)
    m.rows["credits"] = n


def _balances(conn: sqlite3.Connection, rng: random.Random, n: int, n_users: int, m: Manifest) -> None:
    rows = []
    for i in range(n):
        user, model = i % n_users, (i // n_users) % len(MODELS)
        allocated: int | str = rng.randrange(0, 2**40)
        if i == n // 2 and not _CLEAN:
            allocated = "lots"
            m.rejects.append(("token_balances", str(i + 1), "allocated_tokens", "not_integer"))
        rows.append((i + 1, f"u{user:08d}", MODELS[model], allocated, rng.randrange(0, 2**31),
                     _when(rng, i, 1), None))
    conn.executemany("INSERT INTO token_balances VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    m.rows["token_balances"] = n


def _pricing(conn: sqlite3.Connection, m: Manifest) -> None:
    prices = (0.000015, 0.1, 16777217.0, 1e-12, 3.141592653589793)
    rows = [(i + 1, f"model-{i}", f"モデル {i} ✨", prices[i % len(prices)], None if i % 3 == 0 else 10**12 + i,
             i % 2, _when(random.Random(i), i, i % 4)) for i in range(20)]
    conn.executemany("INSERT INTO token_pricing VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    m.rows["token_pricing"] = 20


def _transactions(conn: sqlite3.Connection, rng: random.Random, n: int, n_users: int, m: Manifest) -> None:
    kinds = 8
    per_kind = 0 if _CLEAN else max(1, n // 100_000)
    bad = rng.sample(range(n), min(n, kinds * per_kind))
    bad_kind = {tx: k % kinds for k, tx in enumerate(bad)}
    orphans = max(1, n // 10000)
    orphan_ids = set(rng.sample([i for i in range(n) if i not in bad_kind], min(orphans, n - len(bad_kind))))
    rows = []
    for i in range(n):
        user = f"ghost{i}" if i in orphan_ids else f"u{rng.randrange(n_users):08d}"
        desc: str | bytes | None = None if i % 7 == 0 else WORDS[i % len(WORDS)] + (" " + "長" * 3000 if i % 997 == 0 else "")
        meta: str | int | None = None if i % 3 == 0 else json.dumps(
            {"source": "web" if i % 2 else "アプリ", "items": [i % 10, i % 3], "note": "🎉" if i % 5 == 0 else ""},
            ensure_ascii=bool(i % 4))
        amount: int | str = rng.randrange(-5000, 50000)
        created: str | int = _when(rng, i, i % 5)
        k = bad_kind.get(i)
        key = str(i + 1)
        if k == 0:
            desc, code, col = "before\x00after", "nul_in_text", "description"
        elif k == 1:
            meta, code, col = '{"note": "a\\u0000b"}', "json_nul", "metadata"
        elif k == 2:
            amount, code, col = "abc", "not_integer", "amount"
        elif k == 3:
            created, code, col = "2024-02-30T10:00:00Z", "invalid_timestamp", "created_at"
        elif k == 4:
            created, code, col = "yesterday", "invalid_timestamp", "created_at"
        elif k == 5:
            meta, code, col = '{"unclosed": [1, 2}', "invalid_json", "metadata"
        elif k == 6:
            desc, code, col = b"caf\xe9 latin-1", "invalid_utf8", "description"
        elif k == 7:
            amount, code, col = 2**40, "integer_out_of_range", "amount"
        if k is not None:
            m.rejects.append(("transactions", key, col, code))
        rows.append((i + 1, f"tx-{i:010d}", user, "credit" if i % 4 else "購入", amount, desc, meta, created))
    conn.executemany(
        "INSERT INTO transactions VALUES (?, ?, ?, ?, ?, CASE WHEN typeof(?6) = 'blob' THEN CAST(?6 AS TEXT) "
        "ELSE ?6 END, ?, ?)",
        rows,
    )
    m.rows["transactions"] = n
    m.orphans["transactions"] = len(orphan_ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--clean", action="store_true", help="no epoch dates, no invalid values (pgloader's best case)")
    a = ap.parse_args()
    t0 = time.monotonic()
    m = generate(a.out, a.transactions, a.seed, a.clean)
    print(json.dumps({"path": a.out, "seconds": round(time.monotonic() - t0, 1), "rows": m.rows,
                      "total_rows": m.total_rows, "expected_rejects": len(m.rejects), "orphans": m.orphans}))


if __name__ == "__main__":
    main()
