"""Target passwords at rest: Fernet tokens under keys from the environment.

MOP_FERNET_KEYS holds one or more keys (newest first) so keys can be rotated:
old tokens still decrypt, new ones use the first key.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.MOP_FERNET_KEYS if k.strip()]
    if not keys:
        raise ImproperlyConfigured("MOP_FERNET_KEYS is not set; target passwords cannot be stored or read")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"MOP_FERNET_KEYS holds a malformed key: {exc}") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A target password cannot be decrypted with MOP_FERNET_KEYS (was the key rotated away?)"
        ) from None


def from_env(var: str) -> str:
    """Read a password from the named environment variable of the web/worker process."""
    if var not in os.environ:
        raise ImproperlyConfigured(f"Environment variable {var} (a target password) is not set on this host")
    return os.environ[var]
