"""Rows for tests (factory_boy): users with personas, Alembic projects, targets."""

from __future__ import annotations

import functools
from pathlib import Path

import factory
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from factory.django import DjangoModelFactory

from migrations_ops.target import TargetConn
from portal.ops.models import AlembicProject, Run, Target

ROOT = Path(__file__).resolve().parent.parent
BILLING = ROOT / "examples" / "billing"
USER_PASSWORD = "pw-for-tests-0"


@functools.cache
def _user_password_hash() -> str:
    """USER_PASSWORD hashed once per session with the portal's own hasher (PBKDF2, 1,000,000 iterations: ~0.3 s
    here), not once per user: logins still check it the way production does."""
    return make_password(USER_PASSWORD)


class UserFactory(DjangoModelFactory):
    """A staff user; ``roles=["operator"]`` puts it in the groups of migration 0003."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    is_staff = True
    password = factory.LazyFunction(_user_password_hash)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get(name=role))


class AlembicProjectFactory(DjangoModelFactory):
    class Meta:
        model = AlembicProject
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"project{n}")
    location = str(BILLING)


class TargetFactory(DjangoModelFactory):
    """A target row; pass ``conn=TargetConn`` (from ``make_database``) to point it at a real database."""

    class Meta:
        model = Target
        exclude = ("conn",)
        skip_postgeneration_save = True

    conn: TargetConn | None = None
    name = factory.Sequence(lambda n: f"target-{n}")
    project = factory.SubFactory(AlembicProjectFactory)
    host = factory.LazyAttribute(lambda t: t.conn.host if t.conn else "127.0.0.1")
    port = factory.LazyAttribute(lambda t: t.conn.port if t.conn else 5432)
    dbname = factory.LazyAttribute(lambda t: t.conn.dbname if t.conn else "nowhere")
    user = factory.LazyAttribute(lambda t: t.conn.user if t.conn else "nobody")
    sslmode = factory.LazyAttribute(lambda t: t.conn.sslmode if t.conn else "prefer")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        """``password=...`` is encrypted as ``services.save_target`` would."""
        if extracted:
            self.set_password(extracted)
            if create:
                self.save(update_fields=["password_encrypted", "password_env"])


def target_for(conn: TargetConn, project: AlembicProject | None = None, **kw) -> Target:
    """A saved target on ``conn``'s database with its password encrypted."""
    return TargetFactory(conn=conn, project=project or AlembicProjectFactory(), password=conn.password, **kw)


class RunFactory(DjangoModelFactory):
    """A run row as the scheduler would leave it: an upgrade to head asked by ``dba``, queued.

    Pass what the test is about (``status``, ``operation``, ``params``, times); the rest is the
    plainest run there is. Runs that must really run are scheduled through the services instead.
    """

    class Meta:
        model = Run

    target = factory.SubFactory(TargetFactory)
    operation = Run.Operation.UPGRADE
    revision = "head"
    actor = "dba"
