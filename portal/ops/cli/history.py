"""``ops revisions --format alembic``: the listing as ``alembic history [-v]`` prints it, byte for byte."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from migrations_ops.schema.history_format import history_text
from migrations_ops.schema.project import ProjectSource, resolve_project
from migrations_ops.schema.revisions import BrokenRevisionHistory

from .. import services
from ..models import Target


def alembic_history(command, options) -> None:
    """Print ``alembic history`` (``-v``: verbose); a broken history fails as the CLI does (exit 1)."""
    if options.get("project"):
        path = Path(options["project"]).expanduser()
        if not path.exists():
            raise ValidationError(f"Project path {path} does not exist")
        resolved = resolve_project(ProjectSource(location=str(path.resolve())))
    else:
        try:
            target = Target.objects.select_related("project").get(name=options["target"])
        except Target.DoesNotExist:
            raise ValidationError(f"No target named {options['target']!r}") from None
        resolved = services.resolve(target.project)
    try:
        text = history_text(resolved, verbose=bool(options.get("verbose")))
    except BrokenRevisionHistory as exc:
        raise CommandError(f"FAILED: {exc}", returncode=1) from None
    command.stdout.write(text, ending="")
