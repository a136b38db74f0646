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

from .errors import (
    AuthenticationFailed,
    AuthMethodRefused,
    BadDSN,
    DatabaseNotFound,
    HostNotAllowed,
    InsecureLibpq,
    TargetUnreachable,
    TLSFailed,
)

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_HOST_RE = re.compile(r"^[A-Za-z0-9._\-:\[\]/]+$")
# libpq's require_auth: only SCRAM may receive anything derived from the password;
# cleartext and md5 requests are refused before the password leaves the process.
SCRAM_ONLY = "scram-sha-256"
# libpq 16 added require_auth; an older one would refuse the keyword with a confusing message.
REQUIRE_AUTH_MIN_LIBPQ = 160000
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


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
    require_auth: str = SCRAM_ONLY

    def __post_init__(self) -> None:
        validate(self)

    @classmethod
    def from_url(cls, url: str) -> TargetConn:
        """Parse ``postgresql://user:pw@host:port/db?sslmode=...``.

        >>> TargetConn.from_url("postgresql://app:s3cr%40t@db.example:6432/billing?sslmode=require")
        TargetConn(host='db.example', dbname='billing', user='app', port=6432, sslmode='require', sslrootcert=None, require_auth='scram-sha-256')
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
        """libpq keywords; ``require_auth`` keeps cleartext and md5 requests from getting the password.

        Without a password (peer or trust auth on a local socket) ``none`` is
        allowed too: there is nothing to leak, and libpq then never falls back
        to a cleartext exchange with a password from ``~/.pgpass``.

        >>> TargetConn("db", "x", "app", "pw").connect_kwargs("a")["require_auth"]
        'scram-sha-256'
        >>> TargetConn("db", "x", "app").connect_kwargs("a")["require_auth"]
        'scram-sha-256,none'
        >>> "require_auth" in TargetConn("db", "x", "app", "pw", require_auth="").connect_kwargs("a")
        False
        """
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
        if self.require_auth:
            kw["require_auth"] = self.require_auth if self.password else f"{self.require_auth},none"
        return kw


def is_local_host(host: str) -> bool:
    """Whether ``host`` is this machine: a loopback name/address or a socket directory.

    >>> [is_local_host(h) for h in ("127.0.0.1", "localhost", "/var/run/postgresql", "db.example", "10.0.0.5")]
    [True, True, True, False, False]
    """
    return host.startswith("/") or host.lower() in _LOCAL_HOSTS or host.startswith("127.")


def default_tls(host: str, ca_file: str | None) -> tuple[str, str | None]:
    """The sslmode and CA a target gets when its TLS mode is left at "default".

    Local targets keep libpq's ``prefer`` (nothing crosses a network); remote
    ones verify the server's certificate and name when a CA is configured, and
    at least encrypt (``require``) when none is.

    >>> default_tls("127.0.0.1", "/ca.pem"), default_tls("db.example", "/ca.pem"), default_tls("db.example", None)
    (('prefer', None), ('verify-full', '/ca.pem'), ('require', None))
    """
    if is_local_host(host):
        return "prefer", None
    if ca_file:
        return "verify-full", ca_file
    return "require", None


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
    if t.require_auth and not re.fullmatch(r"[a-z0-9-]+(,[a-z0-9-]+)*", t.require_auth):
        raise BadDSN(f"require_auth {t.require_auth!r} is not a comma-separated list of libpq methods")
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
    if target.require_auth and psycopg.pq.version() < REQUIRE_AUTH_MIN_LIBPQ:
        raise InsecureLibpq(psycopg.pq.version())
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
    if "authentication method requirement" in low:
        return AuthMethodRefused(target.where(), target.require_auth, _last_line(text))
    if "database" in low and "does not exist" in low:
        return DatabaseNotFound(target.where(), target.dbname)
    if "pg_hba.conf" in low:
        return HostNotAllowed(target.where(), _last_line(text))
    if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        return AuthenticationFailed(target.where(), target.user)
    if any(k in low for k in ("ssl", "certificate", "tls")):
        return TLSFailed(target.where(), target.sslmode, _last_line(text))
    return TargetUnreachable(target.where(), _last_line(text))


def _last_line(text: str) -> str:
    """libpq's last line names the cause ("Connection refused", "server requested a cleartext password")."""
    return (text.strip().splitlines()[-1] if text.strip() else "connection failed")[:300]


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
