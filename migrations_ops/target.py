"""Connecting to a target database: validated settings, redaction, errors.

A target's settings travel as a frozen ``TargetConn`` whose password never
appears in ``repr()`` or in any message; ``redacted()`` is what logs show.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from .errors import AuthenticationFailed, BadDSN, TargetUnreachable

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_HOST_RE = re.compile(r"^[A-Za-z0-9._\-:\[\]/]+$")


@dataclass(frozen=True, slots=True)
class TargetConn:
    """How to reach one PostgreSQL database."""

    host: str
    dbname: str
    user: str
    password: str = field(default="", repr=False)
    port: int = 5432
    sslmode: str = "prefer"
    sslrootcert: str | None = None

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def from_url(cls, url: str) -> TargetConn:
        """Parse ``postgresql://user:pw@host:port/db?sslmode=...``.

        >>> TargetConn.from_url("postgresql://app:s3cr%40t@db.example:6432/billing?sslmode=require")
        TargetConn(host='db.example', dbname='billing', user='app', port=6432, sslmode='require', sslrootcert=None)
        """
        try:
            parts = urllib.parse.urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise BadDSN(f"cannot parse the connection URL ({exc})") from None
        if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
            raise BadDSN(f"scheme must be postgresql://, not {parts.scheme or 'nothing'}://")
        query = dict(urllib.parse.parse_qsl(parts.query))
        return cls(
            host=parts.hostname or "",
            port=port or 5432,
            dbname=urllib.parse.unquote(parts.path.lstrip("/")),
            user=urllib.parse.unquote(parts.username or ""),
            password=urllib.parse.unquote(parts.password or ""),
            sslmode=query.get("sslmode", "prefer"),
            sslrootcert=query.get("sslrootcert"),
        )

    def with_password(self, password: str) -> TargetConn:
        return replace(self, password=password)

    def where(self) -> str:
        """``host:port/dbname``, safe to show."""
        return f"{self.host}:{self.port}/{self.dbname}"

    def redacted(self) -> str:
        """A URL with the password replaced by ``***``, for logs and pages."""
        pw = ":***" if self.password else ""
        user = urllib.parse.quote(self.user, safe="")
        return f"postgresql://{user}{pw}@{self.host}:{self.port}/{urllib.parse.quote(self.dbname)}?sslmode={self.sslmode}"

    def connect_kwargs(self, application_name: str, connect_timeout: int = 5) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
            "sslmode": self.sslmode,
            "application_name": application_name[:63],
            "connect_timeout": connect_timeout,
        }
        if self.password:
            kw["password"] = self.password
        if self.sslrootcert:
            kw["sslrootcert"] = self.sslrootcert
        return kw


def validate(t: TargetConn) -> None:
    """Refuse settings that cannot be right, before any connection is tried."""
    if not t.host:
        raise BadDSN("host is empty")
    if not _HOST_RE.match(t.host) or ".." in t.host:
        raise BadDSN(f"host {t.host!r} is not a host name, an IP address or a socket directory")
    if not isinstance(t.port, int) or not 0 < t.port < 65536:
        raise BadDSN(f"port {t.port!r} is not between 1 and 65535")
    if not t.dbname:
        raise BadDSN("database name is empty")
    if not t.user:
        raise BadDSN("user is empty")
    if t.sslmode not in SSL_MODES:
        raise BadDSN(f"sslmode {t.sslmode!r} is not one of {', '.join(SSL_MODES)}")
    for name in ("dbname", "user"):
        if "\x00" in getattr(t, name):
            raise BadDSN(f"{name} contains a NUL character")


def connect(
    target: TargetConn,
    application_name: str,
    *,
    autocommit: bool = True,
    connect_timeout: int = 5,
    **kwargs: Any,
) -> psycopg.Connection:
    """Open a psycopg connection, turning failures into engine errors.

    :param target: where to connect.
    :param application_name: shown in ``pg_stat_activity`` (``mop:run:42``).
    :param autocommit: diagnostics and the migration runner want no implicit transaction.
    """
    try:
        return psycopg.connect(
            **target.connect_kwargs(application_name, connect_timeout), autocommit=autocommit, **kwargs
        )
    except psycopg.OperationalError as exc:
        raise classify_connect_error(target, exc) from None


def classify_connect_error(target: TargetConn, exc: Exception) -> Exception:
    """Map libpq's connection messages to our errors, without the password."""
    text = redact_text(str(exc), target.password)
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        return AuthenticationFailed(target.where(), target.user)
    first_line = text.strip().splitlines()[-1] if text.strip() else "connection failed"
    return TargetUnreachable(target.where(), first_line[:300])


_URL_PW = re.compile(r"(?P<pre>[a-z+]+://[^:/@\s]*):(?P<pw>[^@\s]*)@")
_KV_PW = re.compile(r"(?P<pre>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_text(text: str, *secrets: str) -> str:
    """Remove passwords from a message: URL passwords, ``password=`` pairs and known secrets.

    >>> redact_text("postgresql://app:hunter2@db/x failed")
    'postgresql://app:***@db/x failed'
    >>> redact_text("host=db password='a b' user=x")
    'host=db password=*** user=x'
    >>> redact_text("echo hunter2", "hunter2")
    'echo ***'
    """
    text = _URL_PW.sub(lambda m: f"{m.group('pre')}:***@", text)
    text = _KV_PW.sub(lambda m: f"{m.group('pre')}***", text)
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


redact_dsn = redact_text
