"""What a failed revision leaves behind, at least as much as the Alembic CLI prints.

The CLI shows the exception class (``psycopg.errors.DuplicateTable``), the
statement (``[SQL: CREATE TABLE ...]``), and a traceback through the revision
file. ``describe_failure`` keeps all of it as plain data for the run and the
audit: the classes (the driver's and SQLAlchemy's wrapper), the failing
statement with its parameters never kept (only how many there were), the
revision file, line, function and source line, and the traceback, every text
redacted of the target's password and of ``[parameters: ...]`` blocks.
"""

from __future__ import annotations

import linecache
import os
import re
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import StatementError

from ..target import redact_text

MAX_TRACEBACK = 20_000
MAX_STATEMENT = 8_000
_PARAMS = re.compile(r"\[parameters: .*?\]\n?(?=\(Background|\Z|\n)", re.DOTALL)
_SQLA_TAIL = re.compile(r"\n\[SQL: .*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class FailureDetail:
    """A failure as data; every text is already redacted."""

    exception_class: str
    wrapper_class: str | None
    message: str
    statement: str | None
    parameters: str | None
    revision_file: str | None
    revision_line: int | None
    revision_function: str | None
    source_line: str | None
    traceback: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str | None:
        """``path:line in function``, as a DBA would open it."""
        if not self.revision_file:
            return None
        return f"{self.revision_file}:{self.revision_line} in {self.revision_function}()"


def class_name(exc: BaseException) -> str:
    """``module.Qualname`` as tracebacks print it (builtins without a module)."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first (no loops)."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _revision_frame(chain: Sequence[BaseException], revision_files: set[str]) -> tuple[str, int, str] | None:
    """The innermost frame that runs inside a revision file, through the whole chain."""
    found = None
    for exc in reversed(chain):  # innermost cause first; the outer exception's frames win if they have one
        for frame, line in traceback.walk_tb(exc.__traceback__):
            name = os.path.realpath(frame.f_code.co_filename)
            if name in revision_files:
                found = (name, line, frame.f_code.co_name)
    return found


def revision_files_of(paths: Iterable[str | Path]) -> set[str]:
    """Real paths of the revision files, to match traceback frames against."""
    return {os.path.realpath(str(p)) for p in paths if p}


def revision_paths(script: Any) -> set[str]:
    """``revision_files_of`` every revision an imported ``ScriptDirectory`` holds."""
    return revision_files_of(getattr(r, "path", None) for r in script.revision_map._revision_map.values())


def scrub(text: str, secrets: Sequence[str]) -> str:
    """Remove passwords and bound parameters from a message or traceback."""
    return redact_text(_PARAMS.sub("[parameters: redacted]\n", text), *secrets)


def describe_failure(
    exc: BaseException, revision_files: set[str], secrets: Sequence[str] = (), root: Path | None = None
) -> FailureDetail:
    """Everything worth keeping about ``exc`` (the exception that ended a step).

    :param exc: as caught around Alembic's run (a SQLAlchemy wrapper or anything else).
    :param revision_files: ``revision_files_of`` the project's revision paths.
    :param secrets: texts to redact (the target's password).
    :param root: the script location; the revision file is shown relative to it.
    """
    chain = _chain(exc)
    wrapper = next((e for e in chain if isinstance(e, StatementError)), None)
    orig = getattr(wrapper, "orig", None) or exc
    statement = params = None
    if wrapper is not None and wrapper.statement:
        statement = redact_text(str(wrapper.statement).strip(), *secrets)[:MAX_STATEMENT]
        raw = wrapper.params
        count = len(raw) if isinstance(raw, list | tuple | dict) else (0 if raw is None else 1)
        params = f"redacted ({count} parameter{'s' if count != 1 else ''})" if count else None
    message = _SQLA_TAIL.sub("", str(orig)).strip()
    frame = _revision_frame(chain, revision_files)
    file = line = func = source = None
    if frame is not None:
        file, line, func = frame
        source = linecache.getline(file, line).strip() or None
        if root is not None:
            try:
                file = Path(file).relative_to(Path(root).resolve()).as_posix()
            except ValueError:
                pass
    tb = "".join(traceback.format_exception(exc))
    if len(tb) > MAX_TRACEBACK:
        tb = tb[: MAX_TRACEBACK // 4] + "\n[... traceback shortened ...]\n" + tb[-MAX_TRACEBACK * 3 // 4:]
    return FailureDetail(
        exception_class=class_name(orig),
        wrapper_class=class_name(wrapper) if wrapper is not None and wrapper is not orig else None,
        message=scrub(message, secrets)[:4000],
        statement=statement,
        parameters=params,
        revision_file=file,
        revision_line=line,
        revision_function=func,
        source_line=scrub(source, secrets) if source else None,
        traceback=scrub(tb, secrets),
    )


def failure_lines(data: dict[str, Any]) -> list[str]:
    """The failure as the lines a terminal shows (``ops ... --wait``), from ``to_json()`` data."""
    lines = [f"Exception: {data.get('exception_class')}"
             + (f" (raised as {data['wrapper_class']})" if data.get("wrapper_class") else "")]
    if data.get("statement"):
        lines.append(f"[SQL: {data['statement']}]")
    if data.get("parameters"):
        lines.append(f"[parameters: {data['parameters']}]")
    if data.get("revision_file"):
        lines.append(f"At {data['revision_file']}:{data.get('revision_line')} in {data.get('revision_function')}()")
        if data.get("source_line"):
            lines.append(f"    {data['source_line']}")
    return lines
