"""The role groups come back after any flush or migrate (post_migrate, portal/ops/apps.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from portal.ops.roles import ROLES
from portal.ops.throttle import UNLOCK_PERMISSIONS


@pytest.mark.django_db(transaction=True)
def test_roles_exist_after_a_flush(real_flush):
    call_command("flush", "--noinput", verbosity=0)
    groups = {g.name: g for g in Group.objects.prefetch_related("permissions__content_type")}
    assert set(groups) >= set(ROLES)
    for name, codenames in ROLES.items():
        ops = {p.codename for p in groups[name].permissions.all() if p.content_type.app_label == "ops"}
        assert ops == set(codenames)
    # Besides the ops permissions, only the admin role may unlock logins (portal/ops/throttle.py).
    axes = {g: {p.codename for p in groups[g].permissions.all() if p.content_type.app_label == "axes"} for g in ROLES}
    assert axes == {"viewer": set(), "operator": set(), "admin": set(UNLOCK_PERMISSIONS)}


@pytest.mark.django_db(transaction=True)
def test_roles_are_put_back_by_migrate():
    Group.objects.filter(name__in=ROLES).delete()
    call_command("migrate", verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
