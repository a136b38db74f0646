"""Drift, rehearsal and backup tests run production upgrades; four-eyes approval is tested on its own."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def production_without_approval(request):
    """Production's shipped policy needs an approval; these tests are about the gates that come after it."""
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    from portal.change.models import Policy

    Policy.objects.filter(environment="production").update(approval_from=Policy.ApprovalFrom.NEVER)
