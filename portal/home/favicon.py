"""``/favicon.ico``: every browser asks for it; answering saves a 404 per page in the logs."""

from __future__ import annotations

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# A database cylinder with an up arrow: migrations.
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<ellipse cx="14" cy="7" rx="11" ry="4" fill="#417690"/>'
    '<path d="M3 7v17c0 2.2 4.9 4 11 4s11-1.8 11-4V7c0 2.2-4.9 4-11 4S3 9.2 3 7z" fill="#79aec8"/>'
    '<path d="M24 30V18m-5 5 5-5 5 5" stroke="#f5dd5d" stroke-width="3" fill="none"/></svg>'
)


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request):
    return HttpResponse(ICON, content_type="image/svg+xml")
