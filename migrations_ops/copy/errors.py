"""Errors of the SQLite to PostgreSQL copy, each carrying what the portal stores."""

from __future__ import annotations

from migrations_ops.errors import OpsError


class SourceUnreadable(OpsError):
    code = "copy_source_unreadable"
    explanation = "The SQLite file cannot be opened read-only or is not a SQLite database."

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Cannot read SQLite file {path}: {reason}", path=path, reason=reason)


class SchemaMismatch(OpsError):
    code = "copy_schema_mismatch"
    explanation = (
        "The target's tables do not match the SQLite source: a table or source column has no "
        "counterpart in the target. Run the migrations first, create missing tables with the "
        "option, or allow missing columns explicitly."
    )

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Schema mismatch: " + "; ".join(problems), problems=problems)


class CopyInProgress(OpsError):
    code = "copy_in_progress"
    explanation = (
        "Another copy run into this target has started and not finished. Finish or resume it "
        "(same copy id), or abandon it, before starting a new one."
    )
    retryable = True

    def __init__(self, other_copy_id: str, started_at: str) -> None:
        super().__init__(
            f"Copy {other_copy_id!r} (started {started_at}) is still open on this target",
            other_copy_id=other_copy_id,
            started_at=started_at,
        )


class TooManyRejects(OpsError):
    code = "copy_too_many_rejects"
    explanation = (
        "More rows were rejected than the run allows. The range in flight rolled back; its rejects "
        "were kept for review. Fix the source or raise the limit, then resume the same copy."
    )

    def __init__(self, copy_id: str, rejects: int, limit: int) -> None:
        super().__init__(
            f"Copy {copy_id!r} stopped: {rejects} rejected rows exceed the limit of {limit}",
            copy_id=copy_id,
            rejects=rejects,
            limit=limit,
        )


class CopyIncomplete(OpsError):
    code = "copy_incomplete"
    explanation = "Some ranges of the copy are not finished; run them (resume) before the final phases."
    retryable = True

    def __init__(self, copy_id: str, missing: int) -> None:
        super().__init__(f"Copy {copy_id!r} has {missing} unfinished ranges", copy_id=copy_id, missing=missing)


class UnknownCopy(OpsError):
    code = "copy_unknown"
    explanation = "No copy with this id was planned on this target."

    def __init__(self, copy_id: str) -> None:
        super().__init__(f"No copy {copy_id!r} on this target", copy_id=copy_id)
