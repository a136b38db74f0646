"""``ops targets`` and ``ops add-target``: the registered databases."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from migrations_ops.target import TargetConn

from ..models import AlembicProject, Target
from .common import acting_user, check_view, dump_json, target_json


def cmd_targets(command, options) -> None:
    check_view(acting_user(options, required=False, what="targets"), "ops.view_target")
    targets = Target.objects.select_related("project").order_by("name")
    if options["json"]:
        return dump_json(command, {"targets": [target_json(t) for t in targets]})
    for t in targets:
        flag = "" if t.is_active else " (inactive)"
        command.stdout.write(f"{t.name:<24} {t.environment:<12} {t.project.name:<20} {t.where()}{flag}")


def _project_for(path_arg: str, name: str | None) -> AlembicProject:
    """Reuse the project registered for this directory, or register it (it must resolve)."""
    from migrations_ops.schema.project import ProjectSource, resolve_project  # noqa: PLC0415 - only adding needs it

    path = Path(path_arg).expanduser()
    if not path.exists():
        raise ValidationError(f"Project path {path} does not exist")
    location = str(path.resolve())
    existing = AlembicProject.objects.filter(kind=AlembicProject.Kind.PATH, location=location).first()
    if existing:
        return existing
    resolve_project(ProjectSource(location=location))  # ProjectNotFound if it has no scripts
    name = name or path.resolve().name
    if AlembicProject.objects.filter(name=name).exists():
        raise ValidationError(f"A project named {name!r} already exists at another path; pass --project-name")
    return AlembicProject.objects.create(name=name, location=location)


def cmd_add_target(command, options) -> None:
    from .. import services  # noqa: PLC0415 - ``ops targets`` only reads; this loads the engine

    user = acting_user(options, required=True, what="add-target")
    services.require(user, "ops.add_target")
    var, name = options["dsn_env"], options["name"]
    if not os.environ.get(var):
        raise ValidationError(f"Environment variable {var} is not set (it must hold postgresql://USER:PASSWORD@HOST:PORT/DBNAME)")
    conn = TargetConn.from_url(os.environ[var])
    if Target.objects.filter(name=name).exists():
        raise ValidationError(f"A target named {name!r} already exists")
    with transaction.atomic():
        project = _project_for(options["project"], options.get("project_name"))
        target = Target(
            name=name, environment=options["environment"], project=project, host=conn.host, port=conn.port,
            dbname=conn.dbname, user=conn.user, sslrootcert=conn.sslrootcert or "",
            sslmode=conn.sslmode if "sslmode=" in os.environ[var] else Target.SSLMode.DEFAULT,
        )
        try:
            target.full_clean(exclude=["password_encrypted"])
        except ValidationError as exc:
            raise ValidationError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        services.save_target(target, user=user, password=conn.password or None, created=True)
    command.stdout.write(f"Target {target.name} ({target.environment}) added: {conn.redacted()}, project {project.name}")
