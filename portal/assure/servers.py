"""Which server a target's scratch databases go to, and its per-target settings row."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from migrations_ops.target import TargetConn
from portal.ops.models import Target

from .models import TargetAssurance


def settings_for(target: Target) -> TargetAssurance:
    """The target's assurance settings, created with defaults on first use (writes the DB then)."""
    obj, _ = TargetAssurance.objects.get_or_create(target=target)
    return obj


def rehearsal_server(target: Target) -> tuple[Target, TargetConn]:
    """The configured rehearsal server, else the first active development target of the same project.

    A production target is never a rehearsal server: scratch databases and
    replays would share its disk and CPU.
    """
    server = settings_for(target).rehearsal_server
    if server is None:
        server = (Target.objects.filter(project=target.project, environment=Target.Environment.DEVELOPMENT,
                                        is_active=True).order_by("name").first())
    if server is None:
        raise ValidationError(f"No rehearsal server for {target.name}: set one in its assurance settings, or "
                              "register an active development target of the same project", code="no_rehearsal_server")
    if server.is_production:
        raise ValidationError(f"The rehearsal server of {target.name} is {server.name}, a production target; "
                              "choose a development or staging server", code="production_rehearsal_server")
    return server, server.conn()
