"""A range's COPY queue is bounded: when the server stops taking rows, reading waits instead of piling up.

The server is stalled for real: another transaction holds an uncommitted row with the key the COPY's
first row has, so the server waits on that transaction at the first row and reads no more data. A
reader that outruns it then blocks once QUEUED_CHUNKS (plus what the socket holds) are queued; with
psycopg's own bound (1,024 chunks, 128 MB) the 24 MB below would all be queued in the worker's memory.
"""

from __future__ import annotations

import threading
import time

import psycopg

from migrations_ops.copy.writer import QUEUED_CHUNKS, _CountingWriter
from migrations_ops.target import TargetConn

CHUNK = 128 * 1024
CHUNKS = 192  # 24 MB: far more than the bound, and than what the socket buffers hold


def _rows(start: int) -> bytes:
    """About one 128 kB chunk of text COPY rows with unique keys from ``start``."""
    out, i = bytearray(), start
    while len(out) < CHUNK:
        out += f"{i}\t{'x' * 100}\n".encode()
        i += 1
    return bytes(out)


def test_the_reader_waits_for_a_stalled_server_and_every_row_arrives_after(target_db: TargetConn):
    kwargs = target_db.connect_kwargs("mop-tests")
    with psycopg.connect(**kwargs, autocommit=True) as c:
        c.execute("CREATE TABLE q (id bigint PRIMARY KEY, v text)")
    blocker = psycopg.connect(**kwargs)
    blocker.execute("INSERT INTO q VALUES (0, 'held')")  # uncommitted: the COPY's row 0 waits for it
    written, sent, failed = [0], [0], []
    with psycopg.connect(**kwargs) as conn, conn.cursor() as cur:
        def produce() -> None:
            try:
                with cur.copy("COPY q (id, v) FROM STDIN", writer=_CountingWriter(cur)) as cp:
                    key = 0
                    for _ in range(CHUNKS):
                        data = _rows(key)
                        key += data.count(b"\n")
                        cp.write(data)
                        written[0] += 1
                    sent[0] = key
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                failed.append(exc)

        t = threading.Thread(target=produce, daemon=True)
        t.start()
        try:
            time.sleep(3)
            stalled_at = written[0]
        finally:
            blocker.rollback()  # the server goes on: every row arrives
            blocker.close()
        t.join(120)
        assert stalled_at < CHUNKS // 2, f"the reader queued {stalled_at} chunks while the server took nothing"
        assert not t.is_alive() and not failed, failed
        conn.commit()
        assert conn.execute("SELECT count(*), min(id), max(id) FROM q").fetchone() == (sent[0], 0, sent[0] - 1)
    assert QUEUED_CHUNKS <= 64
