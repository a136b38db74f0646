"""Verification reports: prove a copy or a migration left the data whole.

One call does a whole verification; a Celery task only wires the callbacks and stores the JSON::

    report = verify(target, sqlite_path, tables=None, options=VerifyOptions(), head_schema=None,
                    run_id=run.pk, progress=write_progress_to_run, should_cancel=run_was_cancelled)
    run.report = report.to_json()          # Report.from_json() gives it back, .to_csv() for download
    diff = compare_reports(previous, report)   # what changed since the last report of this target

``sqlite_path=None`` is target-only mode (orphans, NULLs, keys, sequences, hygiene). ``report.status``
is the worst of the tables' pass / warn / fail; ``report.problems()`` lists what is not a pass.
Errors raised on purpose (``SourceUnreadable``, ``TablesNotFound``, ``VerifyTimeout``,
``VerifyLockTimeout``, ``VerifyCancelled``) are ``OpsError`` subclasses; findings are never errors.
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
