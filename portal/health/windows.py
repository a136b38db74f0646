"""The time windows the Health page and ``ops health --window`` offer (light: ``ops`` reads them at every start)."""

from __future__ import annotations

from datetime import timedelta

WINDOWS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(days=1), "7d": timedelta(days=7)}
