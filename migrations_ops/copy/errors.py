"""Errors of the SQLite to PostgreSQL copy, each carrying what the portal stores."""

from __future__ import annotations

from migrations_ops.errors import OpsError, SourceUnreadable

__all__ = ["SourceUnreadable"]  # the ground floor's, re-exported where copy errors are looked for


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


class CopyAbandoned(OpsError):
    code = "copy_abandoned"
    explanation = (
        "This copy was abandoned (abandon_copy): its ranges are not copied any more and it cannot be "
        "resumed or finished. Start a new copy with a new copy id."
    )

    def __init__(self, copy_id: str) -> None:
        super().__init__(f"Copy {copy_id!r} was abandoned", copy_id=copy_id)


class CopyNotAbandonable(OpsError):
    code = "copy_not_abandonable"
    explanation = "Only a copy that is still open ('running': stopped, killed or in progress) can be abandoned."

    def __init__(self, copy_id: str, status: str) -> None:
        super().__init__(f"Copy {copy_id!r} is {status}, not running: nothing to abandon",
                         copy_id=copy_id, status=status)


class ConstraintsNotRestored(OpsError):
    code = "copy_constraints_not_restored"
    explanation = (
        "A primary key or unique constraint dropped for the load (defer_constraints) could not be built "
        "again, usually because the loaded rows hold duplicates it would have refused one by one. The "
        "definitions stay saved in mop.copy_saved_ddl: remove the duplicates and run finish_copy again "
        "(or abandon_copy)."
    )
    retryable = True

    def __init__(self, copy_id: str, failures: list[tuple[str, str, str]]) -> None:
        shown = "; ".join(f"{t}.{n}: {e}" for t, n, e in failures[:5])
        super().__init__(f"Copy {copy_id!r}: {len(failures)} constraint(s) not restored: {shown}",
                         copy_id=copy_id, failures=[list(f) for f in failures])


class TargetNotEmpty(OpsError):
    code = "copy_target_not_empty"
    explanation = (
        "Target tables of the copy already hold rows, and the copy was asked to refuse that (the default). "
        "Choose a mode: 'truncate' empties exactly these tables first, in the copy's planning transaction "
        "(all or nothing, audited with the row counts removed); 'append' keeps their rows, and source rows "
        "whose keys are already there become rejects (the run then ends 'succeeded with rejects')."
    )

    def __init__(self, tables: list[tuple[str, int]]) -> None:
        shown = ", ".join(f"{name} ({rows:,} rows)" for name, rows in tables)
        super().__init__(
            f"Refused: {len(tables)} target table(s) are not empty: {shown}. Nothing was written. "
            "Copy again with --if-not-empty truncate (empty them first) or --if-not-empty append "
            "(keep their rows; duplicates become rejects)",
            tables=[list(t) for t in tables],
        )


class KeylessAppend(OpsError):
    code = "copy_keyless_append"
    explanation = (
        "Appending into a target table that already holds rows and has no primary key or unique index would "
        "duplicate every copied row that is already there: nothing can reject them. Choose truncate (empty it "
        "first), or append_duplicates to acknowledge the duplication (the run and its summary then name it)."
    )

    def __init__(self, tables: list[tuple[str, int]]) -> None:
        shown = ", ".join(f"{name} ({rows:,} rows)" for name, rows in tables)
        super().__init__(
            f"Refused: appending into {len(tables)} non-empty table(s) with no key or unique index would duplicate "
            f"rows already there: {shown}. Nothing was written. Copy again with --if-not-empty truncate, or "
            "--if-not-empty append_duplicates to accept the duplicates",
            tables=[list(t) for t in tables],
        )


class TruncateBlocked(OpsError):
    code = "copy_truncate_blocked"
    explanation = (
        "PostgreSQL refused to empty the target tables, usually because a table outside the copy references "
        "one of them with a foreign key. Nothing was truncated and nothing was written. Include that table "
        "in the copy, drop or empty it first, or use 'append'."
    )

    def __init__(self, tables: list[str], reason: str) -> None:
        super().__init__(f"Cannot truncate {', '.join(tables)}: {reason}", tables=tables, reason=reason)
