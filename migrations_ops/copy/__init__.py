"""SQLite to PostgreSQL copy: pre-flight, planned key ranges, atomic range copies, post-load phases.

One Celery task per unit of work: ``plan_ranges`` (once), ``copy_range``
(per range, in a group/chord), ``finish_copy`` (chord callback).
``copy_database`` runs them all in-process. ``abandon_copy`` closes a copy
that will not be resumed.
"""

from .abandon import AbandonReport, abandon_copy
from .errors import (
    ConstraintsNotRestored,
    CopyAbandoned,
    CopyIncomplete,
    CopyInProgress,
    CopyNotAbandonable,
    KeylessAppend,
    SchemaMismatch,
    SourceUnreadable,
    TargetNotEmpty,
    TooManyRejects,
    TruncateBlocked,
    UnknownCopy,
)
from .finish import finish_copy
from .options import IF_NOT_EMPTY, ColumnPlan, CopyOptions, RangeSpec
from .preflight import PreflightReport, preflight
from .ranges import plan_ranges
from .rejects import RejectRow, list_rejects
from .run import copy_database
from .summary import CopySummary, format_rejects, format_summary, with_wall_time
from .writer import RangeResult, copy_range

__all__ = [
    "AbandonReport", "ConstraintsNotRestored", "CopyAbandoned", "CopyNotAbandonable", "abandon_copy",
    "ColumnPlan", "CopyIncomplete", "CopyInProgress", "CopyOptions", "CopySummary", "PreflightReport",
    "RangeResult", "RangeSpec", "RejectRow", "SchemaMismatch", "SourceUnreadable", "TooManyRejects",
    "UnknownCopy", "copy_database", "copy_range", "finish_copy", "format_summary", "list_rejects",
    "plan_ranges", "preflight", "IF_NOT_EMPTY", "TargetNotEmpty", "TruncateBlocked", "KeylessAppend", "format_rejects",
    "with_wall_time",
]
