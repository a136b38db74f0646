"""A fake PostgreSQL server for tests: it asks every client for a cleartext password and records the answer.

This is the server a hostile admin user would point a target at:
it speaks just enough of the protocol (SSLRequest/GSSENCRequest refused,
StartupMessage read, ``AuthenticationCleartextPassword`` (R, code 3) sent,
then a FATAL error) to capture whatever password a client is willing to
send. It runs an asyncio loop in a thread, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
PROTOCOL_3 = 196608
AUTH_CLEARTEXT = 3


@dataclass
class Capture:
    """What one client sent: its startup parameters and, if it gave one, its password."""

    startup: dict[str, str] = field(default_factory=dict)
    password: str | None = None
    closed: bool = False


@dataclass
class FakeServer:
    """The server's address and every connection it saw, in order."""

    host: str = "127.0.0.1"
    port: int = 0
    captures: list[Capture] = field(default_factory=list)
    # Answer the startup message with this FATAL error instead of asking for a password.
    reject_with: str | None = None

    @property
    def passwords(self) -> list[str]:
        """Every password a client sent (the thing that must stay empty by default)."""
        return [c.password for c in self.captures if c.password is not None]

    def settled(self, count: int) -> bool:
        """At least ``count`` clients came and every one of them has gone (nothing more can arrive)."""
        return len(self.captures) >= count and all(c.closed for c in self.captures)


async def _read_startup(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> dict[str, str] | None:
    """Answer 'N' to SSL/GSS requests until the real StartupMessage comes; return its parameters."""
    while True:
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        body = await reader.readexactly(length - 4)
        (code,) = struct.unpack("!i", body[:4])
        if code in (SSL_REQUEST, GSSENC_REQUEST):
            writer.write(b"N")
            await writer.drain()
            continue
        if code != PROTOCOL_3:
            return None
        parts = body[4:].split(b"\x00")
        return {parts[i].decode(): parts[i + 1].decode() for i in range(0, len(parts) - 1, 2) if parts[i]}


def _error(message: str, sqlstate: str = "28P01") -> bytes:
    fields = b"SFATAL\x00VFATAL\x00C" + sqlstate.encode() + b"\x00M" + message.encode() + b"\x00\x00"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


async def _handle(server: FakeServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One client: startup, ask for a cleartext password, record what comes back, refuse."""
    capture = Capture()
    server.captures.append(capture)
    try:
        startup = await _read_startup(reader, writer)
        if startup is None:
            return
        capture.startup = startup
        if server.reject_with:
            writer.write(_error(server.reject_with, "28000"))
            await writer.drain()
            return
        writer.write(b"R" + struct.pack("!ii", 8, AUTH_CLEARTEXT))
        await writer.drain()
        kind = await reader.readexactly(1)
        (length,) = struct.unpack("!i", await reader.readexactly(4))
        body = await reader.readexactly(length - 4)
        if kind == b"p":
            capture.password = body.rstrip(b"\x00").decode("utf-8", "replace")
        writer.write(_error(f'password authentication failed for user "{startup.get("user", "")}"'))
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client hung up: what it refused to send is the point
    finally:
        capture.closed = True
        writer.close()


@contextmanager
def fake_pg_server(reject_with: str | None = None) -> Iterator[FakeServer]:
    """Run a fake server for the ``with`` block; yields it (``host``, ``port``, ``captures``)."""
    server = FakeServer(reject_with=reject_with)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, asyncio.base_events.Server] = {}

    async def start() -> None:
        srv = await asyncio.start_server(lambda r, w: _handle(server, r, w), server.host, 0)
        server.port = srv.sockets[0].getsockname()[1]
        holder["srv"] = srv
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()),
                              name="fake-pg", daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake PostgreSQL server did not start")
    try:
        yield server
    finally:
        async def stop() -> None:
            holder["srv"].close()
            await holder["srv"].wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
