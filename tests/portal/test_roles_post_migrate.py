"""The role groups come back after any flush or migrate (post_migrate, portal/ops/apps.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from portal.ops.roles import ROLES


@pytest.mark.django_db(transaction=True)
def test_roles_exist_after_a_flush():
    call_command("flush", "--noinput", verbosity=0)
    groups = {g.name: g for g in Group.objects.prefetch_related("permissions")}
    assert set(groups) >= set(ROLES)
    for name, codenames in ROLES.items():
        assert {p.codename for p in groups[name].permissions.all()} == set(codenames)


@pytest.mark.django_db(transaction=True)
def test_roles_are_put_back_by_migrate():
    Group.objects.filter(name__in=ROLES).delete()
    call_command("migrate", verbosity=0)
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLES)
