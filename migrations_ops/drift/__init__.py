"""Drift: revision drift (version table against the scripts) and schema drift (live against expected)."""

from .revision import RevisionFinding, revision_drift
from .schema import ReplayFailed, SchemaDrift, expected_schema, schema_drift

__all__ = ["ReplayFailed", "RevisionFinding", "SchemaDrift", "expected_schema", "revision_drift", "schema_drift"]
