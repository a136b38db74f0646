"""Login throttling: after N failures for a username from one IP, even the right password is refused; audited; unlockable.

Real logins through the admin's login form (the test client posts it with a
REMOTE_ADDR), the real django-axes tables, the portal's audit trail.
"""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from portal.ops import audit
from portal.ops.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def alice():
    user = UserFactory(username="alice", roles=["operator"])
    user.set_password(PASSWORD)
    user.save()
    return user


def _login(client: Client, password: str, ip: str = "10.0.0.7", username: str = "alice"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _logged_in(client: Client) -> bool:
    return client.get("/admin/", REMOTE_ADDR="10.0.0.7").status_code == 200


def test_it_refuses_the_right_password_after_n_failures_and_audits_the_lockout(alice) -> None:
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    codes = [_login(client, f"wrong-{i}").status_code for i in range(40)]  # the attack of the issue

    assert codes[: limit - 1] == [200] * (limit - 1)  # the form again, "Please enter the correct username..."
    assert set(codes[limit - 1:]) == {429}
    right = _login(client, PASSWORD)
    assert right.status_code == 429 and "locked" in right.content.decode().lower()
    assert not _logged_in(client)

    event = AuditEvent.objects.get(action="login.locked_out")
    assert (event.actor, event.outcome) == ("alice", "locked_out")
    assert event.params["ip_address"] == "10.0.0.7" and event.params["failure_limit"] == limit
    assert audit.verify_chain().ok
    attempt = AccessAttempt.objects.get(username="alice", ip_address="10.0.0.7")
    assert attempt.failures_since_start >= limit
    assert PASSWORD not in str(AccessAttempt.objects.values_list("post_data", flat=True).first())


def test_the_lock_is_per_user_and_ip(alice) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), f"wrong-{i}")
    assert _login(Client(), PASSWORD).status_code == 429
    other_ip = Client()
    assert _login(other_ip, PASSWORD, ip="10.0.0.8").status_code == 302  # same user, another address


def test_fewer_failures_than_the_limit_are_forgotten_after_a_good_login(alice) -> None:
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, f"wrong-{i}").status_code == 200
    assert _login(client, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert not AuditEvent.objects.filter(action__startswith="login.").exists()


def test_an_admin_unlocks_from_axes_admin_page_and_the_unlock_is_audited(alice) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), f"wrong-{i}")
    attempt = AccessAttempt.objects.get(username="alice")
    admin = UserFactory(username="dba", roles=["admin"])  # the admin role, not a superuser
    boss = Client()
    boss.force_login(admin)

    listing = boss.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "alice" in listing.content.decode()
    done = boss.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert done.status_code == 302

    assert not AccessAttempt.objects.filter(username="alice").exists()
    client = Client()
    assert _login(client, PASSWORD).status_code == 302 and _logged_in(client)
    unlock = AuditEvent.objects.get(action="login.unlocked")
    assert not Client().get("/admin/axes/accessattempt/").status_code == 200  # anonymous: login page
    assert unlock.params["username"] == "alice" and unlock.params["failures"] >= settings.AXES_FAILURE_LIMIT


def test_only_the_admin_role_may_unlock(alice) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        _login(Client(), f"wrong-{i}")
    attempt = AccessAttempt.objects.get(username="alice")
    for role in ("viewer", "operator"):
        other = Client()
        other.force_login(UserFactory(username=f"u-{role}", roles=[role]))
        assert other.get("/admin/axes/accessattempt/").status_code == 403
        assert other.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()
    assert _login(Client(), PASSWORD).status_code == 429
