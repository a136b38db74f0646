"""Target passwords at rest: Fernet tokens under keys from the environment.

MOP_FERNET_KEYS holds one or more keys (newest first) so keys can be rotated:
old tokens still decrypt, new ones use the first key.

A target may instead name an environment variable (``password_env``). Only
names under ``MOP_TARGET_PASSWORD_ENV_PREFIX`` are accepted, and never one of
the portal's own settings, even under a misconfigured prefix: a target points
at a server its author chose, so whatever it reads is sent there.
The check runs when a target is saved and again each time a password is read,
so a row written before the check existed cannot leak either.
"""

from __future__ import annotations

import os
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from migrations_ops.errors import OpsError
from migrations_ops.target import redact_text

# The portal's own settings that hold secrets: never a target password, whatever the prefix.
PORTAL_SECRET_VARS = frozenset({
    "DATABASE_URL", "DJANGO_SECRET_KEY", "DJANGO_SECRET_KEY_FILE", "MOP_FERNET_KEYS", "REDIS_URL",
    "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "MOP_DB_PASSWORD", "MOP_EXAMPLE_DEV_DSN",
    "MOP_EXAMPLE_PROD_DSN", "BILLING_DATABASE_URL", "BILLING_APP_PASSWORD",
})
# Whole families of variables that configure the portal, its broker or libpq itself.
PORTAL_VAR_PREFIXES = ("DJANGO_", "CELERY_", "DATABASE_", "REDIS_", "PG", "POSTGRES_", "MOP_FERNET")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
# Shorter values would redact ordinary words out of messages.
_MIN_SECRET_LEN = 6


class PasswordEnvRefused(OpsError):
    """A target's ``password_env`` names a variable a target may not read."""

    code = "password_env_refused"

    def __init__(self, var: str, reason: str) -> None:
        prefix = settings.MOP_TARGET_PASSWORD_ENV_PREFIX
        super().__init__(
            f"password_env {var!r} is refused: {reason}",
            explanation=(
                f"A target's password may only come from its encrypted field or from an environment variable "
                f"named {prefix}<SOMETHING>, never from the portal's own settings. Nothing was sent. Put the "
                f"password in such a variable on web and workers (or enter it in the target's password field) "
                f"and edit the target."
            ),
            var=var, reason=reason,
        )


class PasswordUnreadable(OpsError):
    """A target's password cannot be read on this host: no key, a wrong key, or a missing variable."""

    code = "password_unreadable"
    explanation = (
        "The portal could not read the target's password, so nothing was sent to the target. Set "
        "MOP_FERNET_KEYS (the same keys on web and workers; keep an old key after the new one while "
        "rotating), or set the target's password variable on this host, or enter the password again."
    )


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.MOP_FERNET_KEYS if k.strip()]
    if not keys:
        raise PasswordUnreadable("MOP_FERNET_KEYS is not set; target passwords cannot be stored or read")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise PasswordUnreadable(f"MOP_FERNET_KEYS holds a malformed key: {exc}") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise PasswordUnreadable(
            "A target password cannot be decrypted with MOP_FERNET_KEYS (was the key rotated away?)"
        ) from None


def check_password_env(var: str) -> None:
    """Refuse a variable name a target may not read (raises ``PasswordEnvRefused``).

    Steps: 1 a plain upper-case name, 2 under the configured prefix, 3 none of
    the portal's own settings, whatever the prefix (a prefix misconfigured to
    ``D`` or ``MOP_`` must not open ``DATABASE_URL`` or ``MOP_FERNET_KEYS``).
    """
    prefix = settings.MOP_TARGET_PASSWORD_ENV_PREFIX
    if not _ENV_NAME.fullmatch(var or ""):
        raise PasswordEnvRefused(var, "a variable name is upper-case letters, digits and underscores")
    if not var.startswith(prefix) or var == prefix:
        raise PasswordEnvRefused(var, f"its name must start with {prefix} (MOP_TARGET_PASSWORD_ENV_PREFIX)")
    if var in PORTAL_SECRET_VARS or var.startswith(PORTAL_VAR_PREFIXES):
        raise PasswordEnvRefused(var, "it is one of the portal's own settings")


def from_env(var: str) -> str:
    """Read a password from the named environment variable of the web/worker process.

    Checked again here, at every read: a row saved before the check existed,
    or written around the form, is refused rather than sent.
    """
    check_password_env(var)
    if var not in os.environ:
        raise PasswordUnreadable(f"Environment variable {var} (a target password) is not set on this host")
    value = os.environ[var]
    if value and value in portal_secret_values():
        raise PasswordEnvRefused(var, "its value is one of the portal's own secrets")
    return value


def portal_secret_values() -> tuple[str, ...]:
    """The portal's own secrets as they are set in this process: never sent, always redacted."""
    values = {settings.SECRET_KEY, *settings.MOP_FERNET_KEYS}
    for db in settings.DATABASES.values():
        values.add(db.get("PASSWORD") or "")
    for var in PORTAL_SECRET_VARS:
        values.add(os.environ.get(var, ""))
    return tuple(sorted((v.strip() for v in values if v and len(v.strip()) >= _MIN_SECRET_LEN), key=len, reverse=True))


def redact(text: str, *secrets: str) -> str:
    """``redact_text`` plus the portal's own secrets: what every stored or shown error text goes through."""
    return redact_text(text, *secrets, *portal_secret_values())


def redact_data(value, *secrets: str):
    """``redact`` applied to every string of a JSON-like value (an error's stored fields)."""
    if isinstance(value, dict):
        return {k: redact_data(v, *secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, *secrets) for v in value]
    if isinstance(value, str):
        return redact(value, *secrets)
    return value
