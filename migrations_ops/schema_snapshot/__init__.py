"""A normalized picture of a database schema from the catalogs, and the readable difference of two.

Rehearsals compare the schema before and after a round trip, drift checks
compare a target's live schema with the one its revision should have; both
use these two functions.
"""

from .diff import Change, SchemaDiff, diff
from .take import SchemaSnapshot, take_snapshot, take_snapshot_of

__all__ = ["Change", "SchemaDiff", "SchemaSnapshot", "diff", "take_snapshot", "take_snapshot_of"]
