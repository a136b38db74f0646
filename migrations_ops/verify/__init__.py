"""Verification reports: prove a copy or a migration left the data whole (issue 4).

``verify(target, sqlite_path=None, ...)`` returns a ``Report``; ``report.to_json()``
is what the portal stores, ``compare_reports(old, new)`` what it shows between runs.
"""

from .errors import SourceUnreadable, TablesNotFound, VerifyCancelled, VerifyLockTimeout, VerifyTimeout
from .report import FAIL, PASS, WARN, Finding, Report, ReportDiff, TableReport, compare_reports
from .run import ALL_CHECKS, VerifyOptions, verify
from .schema import HeadTable, head_schema_from_metadata

__all__ = [
    "ALL_CHECKS", "FAIL", "PASS", "WARN", "Finding", "HeadTable", "Report", "ReportDiff", "SourceUnreadable",
    "TableReport", "TablesNotFound", "VerifyCancelled", "VerifyLockTimeout", "VerifyOptions", "VerifyTimeout",
    "compare_reports", "head_schema_from_metadata", "verify",
]
