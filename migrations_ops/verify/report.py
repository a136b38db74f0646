"""The verification report: frozen data the portal stores as JSON, shows, exports and compares."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}
REPORT_VERSION = 1


def worst(statuses: Any) -> str:
    """The most severe status of several (pass if none).

    >>> worst(["pass", "warn"]), worst([])
    ('warn', 'pass')
    """
    return max(statuses, key=_RANK.__getitem__, default=PASS)


@dataclass(frozen=True, slots=True)
class Finding:
    """One check on one table (or on the database): its verdict, figures and sample keys."""

    check: str
    status: str
    message: str
    table: str | None = None
    columns: tuple[str, ...] = ()
    figures: dict[str, Any] = field(default_factory=dict)
    samples: tuple[Any, ...] = ()

    def ident(self) -> tuple[str, str | None, tuple[str, ...], str]:
        """What identifies "the same finding" in two reports."""
        return (self.check, self.table, self.columns, str(self.figures.get("name", "")))


@dataclass(frozen=True, slots=True)
class TableReport:
    """One row of the report: a table and every finding about it."""

    name: str
    status: str
    source_rows: int | None
    target_rows: int | None
    findings: tuple[Finding, ...] = ()
    seconds: float = 0.0
    source_name: str | None = None
    """The source table compared with it (the one name rule may pair ``Album`` with ``album``)."""


@dataclass(frozen=True, slots=True)
class SourceInfo:
    path: str
    size: int
    sha256: str
    integrity_check: tuple[str, ...]
    sqlite_version: str


@dataclass(frozen=True, slots=True)
class ReportHeader:
    """What was verified, how, and when; the portal adds run and operator."""

    target: str
    mode: str
    server_version: str
    started_at: str
    finished_at: str
    settings: dict[str, Any]
    source: SourceInfo | None = None


@dataclass(frozen=True, slots=True)
class Report:
    header: ReportHeader
    tables: tuple[TableReport, ...]
    findings: tuple[Finding, ...] = ()
    version: int = REPORT_VERSION
    skipped: tuple[dict[str, Any], ...] = ()
    """Source objects the copy does not carry (views, triggers, internal/virtual/shadow tables, FTS indexes),
    listed as "skipped" with kind, rows and advice (``migrations_ops.copy.skipped.SkippedObject`` dicts)."""

    @property
    def status(self) -> str:
        return worst([t.status for t in self.tables] + [f.status for f in self.findings])

    def table(self, name: str) -> TableReport:
        return next(t for t in self.tables if t.name == name)

    def all_findings(self) -> list[Finding]:
        return list(self.findings) + [f for t in self.tables for f in t.findings]

    def problems(self) -> list[Finding]:
        """Findings that are not a pass."""
        return [f for f in self.all_findings() if f.status != PASS]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = self.status
        return d

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=str)

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        h = dict(d["header"])
        h["source"] = _source(h.get("source"))
        return cls(
            header=ReportHeader(**h),
            tables=tuple(
                TableReport(**{**t, "findings": tuple(_finding(f) for f in t["findings"])}) for t in d["tables"]
            ),
            findings=tuple(_finding(f) for f in d.get("findings", ())),
            version=d.get("version", REPORT_VERSION),
            skipped=tuple(d.get("skipped", ())),
        )

    def to_csv(self) -> str:
        """One line per finding, for spreadsheets; figures and samples as JSON cells."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["table", "table_status", "source_rows", "target_rows", "check", "status", "columns",
                    "message", "figures", "samples"])
        for f in self.findings:
            w.writerow(["", "", "", "", *_csv_finding(f)])
        for t in self.tables:
            for f in t.findings:
                w.writerow([t.name, t.status, _blank(t.source_rows), _blank(t.target_rows), *_csv_finding(f)])
        return buf.getvalue()


def _blank(v: Any) -> Any:
    return "" if v is None else v


def _csv_finding(f: Finding) -> list[Any]:
    return [f.check, f.status, " ".join(f.columns), f.message,
            json.dumps(f.figures, ensure_ascii=False, default=str),
            json.dumps(list(f.samples), ensure_ascii=False, default=str)]


def _finding(d: dict[str, Any]) -> Finding:
    return Finding(**{**d, "columns": tuple(d.get("columns", ())), "samples": tuple(d.get("samples", ()))})


def _source(d: dict[str, Any] | None) -> SourceInfo | None:
    return None if d is None else SourceInfo(**{**d, "integrity_check": tuple(d["integrity_check"])})


@dataclass(frozen=True, slots=True)
class ReportDiff:
    """What changed between two reports of the same target."""

    old_status: str
    new_status: str
    new_problems: tuple[Finding, ...]
    resolved: tuple[Finding, ...]
    status_changes: tuple[tuple[str, str, str], ...]
    row_changes: tuple[tuple[str, int | None, int | None], ...]
    tables_added: tuple[str, ...]
    tables_removed: tuple[str, ...]


def compare_reports(old: Report, new: Report) -> ReportDiff:
    """Compare two reports: problems that appeared or went away, tables whose status or size changed.

    :param old: the earlier report.
    :param new: the later one.
    """
    old_p = {f.ident(): f for f in old.problems()}
    new_p = {f.ident(): f for f in new.problems()}
    old_t = {t.name: t for t in old.tables}
    new_t = {t.name: t for t in new.tables}
    both = [n for n in new_t if n in old_t]
    return ReportDiff(
        old_status=old.status,
        new_status=new.status,
        new_problems=tuple(f for k, f in new_p.items() if k not in old_p),
        resolved=tuple(f for k, f in old_p.items() if k not in new_p),
        status_changes=tuple((n, old_t[n].status, new_t[n].status) for n in both
                             if old_t[n].status != new_t[n].status),
        row_changes=tuple((n, old_t[n].target_rows, new_t[n].target_rows) for n in both
                          if old_t[n].target_rows != new_t[n].target_rows),
        tables_added=tuple(n for n in new_t if n not in old_t),
        tables_removed=tuple(n for n in old_t if n not in new_t),
    )
