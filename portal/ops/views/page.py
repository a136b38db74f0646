"""What every portal page shares: the admin's context, a row number from a URL, how a failure is shown.

Each view is reached through ``admin_urls`` wrapped in ``admin_site.admin_view``
(login required), takes its context from ``each_context`` and renders a template
extending ``admin/base_site.html``. Permissions are checked on the request itself with
``services.require``, so a crafted POST from a user without the permission gets 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404

from ..secrets import redact


def context(model_admin, request, title: str, **extra: Any) -> dict[str, Any]:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        **extra,
    }


def object_pk(value) -> int:
    """A row number from a URL (the admin's ``<path:object_id>``): anything but a positive whole number is a 404,
    never a ``ValueError`` from the query (which Django answers with a 500).

    >>> object_pk("42"), object_pk(7)
    (42, 7)
    """
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Http404(f"No row number {str(value)[:40]!r}")
    return int(text)


def error(exc: Exception) -> dict[str, str]:
    """What a page shows about a failure: the engine's words, redacted, and its plain explanation."""
    return {"message": redact(str(exc)), "explanation": getattr(exc, "explanation", "")}


def flash(request, exc: Exception) -> None:
    err = error(exc)
    text = err["message"] + (f" — {err['explanation']}" if err["explanation"] else "")
    messages.error(request, text)
