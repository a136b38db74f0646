"""Signals other apps listen to, so that this app never imports them.

``status_read``: a target's version table was just read (``services.target_status``);
sent with ``target`` and ``status`` (``migrations_ops.schema.state.TargetStatus``). The
home app stores it, so its dashboard needs no connection to the target.
"""

from django.dispatch import Signal

status_read = Signal()
