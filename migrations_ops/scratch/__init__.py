"""Throw-away databases on a rehearsal server, the PostgreSQL client tools that fill them, and their reaper."""

from .databases import SCRATCH_PREFIX, create_scratch, drop_scratch, reap_scratch, scratch_database
from .errors import ScratchFailed, ToolFailed, ToolMissing
from .tools import pg_tool, run_tool, tool_env

__all__ = ["SCRATCH_PREFIX", "ScratchFailed", "ToolFailed", "ToolMissing", "create_scratch", "drop_scratch",
           "pg_tool", "reap_scratch", "run_tool", "scratch_database", "tool_env"]
