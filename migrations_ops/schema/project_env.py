"""The process environment a project's own ``env.py`` sees: the chosen target, nothing of the portal.

Real ``env.py`` files read their URL from an environment variable
(``DATABASE_URL`` most often) or from ``sqlalchemy.url`` in ``alembic.ini``.
In a worker, ``DATABASE_URL`` is the *portal's* database, so a project-mode run
would read the wrong URL (and, with an accepted scheme, migrate the portal).
``project_environment`` swaps ``os.environ`` for the length of the env.py run:
only harmless system variables are kept, the project's URL variables are set
to the target's URL in the form the project expects (``postgresql+psycopg://``
by default), and everything else (the portal's settings, ``MOP_*``, broker
URLs, Fernet keys, libpq ``PG*`` defaults) is gone. The connection, version
table and transaction-per-migration are still forced by ``PortalEnvironment``,
so an env.py that builds its own engine elsewhere still migrates the target.

``os.environ`` is process-wide: swaps are serialised by a lock, and a Celery
prefork worker runs one task per process anyway.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy.engine import URL

from ..errors import OpsError
from ..target import TargetConn

DEFAULT_URL_VARS: tuple[str, ...] = ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI")
DEFAULT_URL_SCHEME = "postgresql+psycopg"
URL_SCHEMES: tuple[str, ...] = ("postgresql+psycopg", "postgresql", "postgresql+psycopg2", "postgres")
# System variables a Python program needs; nothing that configures or authenticates the portal.
KEEP_VARS = frozenset({
    "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP", "USER", "LOGNAME", "SHELL", "PWD",
    "TERM", "HOSTNAME", "PYTHONPATH", "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONDONTWRITEBYTECODE",
    "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
})
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_LOCK = threading.RLock()


class BadProjectEnvSetting(OpsError):
    code = "bad_project_env_setting"
    explanation = ("The project's environment settings for its own env.py are invalid: URL variables must be "
                   "environment variable names, the URL form one of " + ", ".join(URL_SCHEMES) + ".")

    def __init__(self, problem: str) -> None:
        super().__init__(f"Project environment setting: {problem}", problem=problem)


def url_vars_of(names: Sequence[str]) -> tuple[str, ...]:
    """The variables to set (the defaults when none are declared); refuses names that are not names."""
    out = tuple(n.strip() for n in names if n and n.strip()) or DEFAULT_URL_VARS
    for name in out:
        if not _VAR_NAME.match(name):
            raise BadProjectEnvSetting(f"{name!r} is not an environment variable name")
    return out


def target_url(target: TargetConn, scheme: str = "") -> str:
    """The target as a URL of the form the project expects, password included (env.py may connect).

    >>> target_url(TargetConn("db", "billing", "app", "p@ss", port=6432, sslmode="require"))
    'postgresql+psycopg://app:p%40ss@db:6432/billing?sslmode=require'
    >>> target_url(TargetConn("db", "billing", "app"), "postgres")
    'postgres://app@db:5432/billing?sslmode=prefer'
    """
    scheme = scheme or DEFAULT_URL_SCHEME
    if scheme not in URL_SCHEMES:
        raise BadProjectEnvSetting(f"URL form {scheme!r} is not one of {', '.join(URL_SCHEMES)}")
    query = {"sslmode": target.sslmode}
    if target.sslrootcert:
        query["sslrootcert"] = target.sslrootcert
    url = URL.create(scheme, username=target.user, password=target.password or None, host=target.host,
                     port=target.port, database=target.dbname, query=query)
    return url.render_as_string(hide_password=False)


def clean_environ(environ: Mapping[str, str], url: str, url_vars: Sequence[str]) -> dict[str, str]:
    """What env.py may see: the kept system variables, ``LC_*``, and the URL variables set to ``url``.

    >>> clean_environ({"PATH": "/bin", "DATABASE_URL": "postgres://portal", "MOP_FERNET_KEYS": "k",
    ...                "LC_ALL": "C", "PGPASSWORD": "x"}, "postgresql://t", ["DATABASE_URL"])
    {'PATH': '/bin', 'LC_ALL': 'C', 'DATABASE_URL': 'postgresql://t'}
    """
    kept = {k: v for k, v in environ.items() if k in KEEP_VARS or k.startswith("LC_")}
    kept.update(dict.fromkeys(url_vars, url))
    return kept


@contextmanager
def project_environment(target: TargetConn, url_vars: Sequence[str] = (), scheme: str = "") -> Iterator[str]:
    """Swap ``os.environ`` for env.py's run; yields the URL. Restored whatever happens."""
    names = url_vars_of(url_vars)
    url = target_url(target, scheme)
    with _LOCK:
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(clean_environ(saved, url, names))
            yield url
        finally:
            os.environ.clear()
            os.environ.update(saved)
