"""The report of a run: every return with its findings, its counts, and how it reads as lines and JSON.

Console lines are plain text, one return or one finding to a line and never wrapped, so a log can be
grepped for a file and an editor can jump to `file: 'Sheet'!Cell`. Evidence text is never in them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .layout import quote_sheet
from .model import CLIENT_CHANGES, Finding, Return, ReturnStatus, Severity
from .packager import storable, storable_json, write_output

#: The console lists at most this many findings; the rest are in the Issues sheet, the JSON and the ledger.
MAX_FINDINGS_SHOWN = 200
#: The widest a value from a return (a reference, a force, a sheet's name) is shown on a console line, and a
#: file's name: longer ones are cut with an ellipsis, so one pasted value cannot widen every line. The files
#: written (the JSON, the workbook) keep the whole value.
SHOWN_VALUE = 40
SHOWN_FILE = 160
ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class Counts:
    returns: int  # files in this run (the withdrawn are not)
    accepted: int
    rejected: int
    duplicates: int
    errors: int
    warnings: int
    withdrawn: int = 0


@dataclass(frozen=True)
class FileCounts:
    """How this run's files differ from what the ledger last saw at their paths."""

    new: int
    changed: int
    unchanged: int
    withdrawn: int
    read: int
    from_ledger: int

    def line(self) -> str:
        return (f"Files: {self.new} new, {self.changed} changed, {self.unchanged} unchanged, {self.withdrawn} "
                f"withdrawn ({self.read} read, {self.from_ledger} from the ledger).")




@dataclass
class Report:
    """Every return of one run with its findings; knows whether the run is clean."""

    returns: list[Return] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the run, not a return: skipped owner files
    files: FileCounts | None = None  # with a ledger: new, changed, unchanged and withdrawn files

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.returns for f in r.findings]

    @property
    def accepted(self) -> list[Return]:
        return [r for r in self.returns if r.status is ReturnStatus.ACCEPTED]

    @property
    def ok(self) -> bool:
        """Every file of the run accepted (a withdrawn file is reported, but is not a fault of this run)."""
        return all(r.status in (ReturnStatus.ACCEPTED, ReturnStatus.WITHDRAWN) for r in self.returns)

    @property
    def counts(self) -> Counts:
        statuses = [r.status for r in self.returns]
        severities = [f.severity for f in self.findings]
        return Counts(
            returns=len(statuses) - statuses.count(ReturnStatus.WITHDRAWN),
            accepted=statuses.count(ReturnStatus.ACCEPTED),
            rejected=statuses.count(ReturnStatus.REJECTED),
            duplicates=statuses.count(ReturnStatus.DUPLICATE),
            errors=severities.count(Severity.ERROR),
            warnings=severities.count(Severity.WARNING),
            withdrawn=statuses.count(ReturnStatus.WITHDRAWN),
        )

    @property
    def exit_code(self) -> int:
        """0 when every return is accepted, 1 when any is not (the accepted ones still count)."""
        return 0 if self.ok else 1

    def flatten(self, fields: list[str]) -> list[list[Any]]:
        """Findings as rows of the named attributes: short, readable test assertions."""
        return [[getattr(f, name) for name in fields] for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "ok": self.ok,
            "counts": asdict(self.counts),
            **({"files": asdict(self.files)} if self.files else {}),
            "notes": self.notes + self.client_notes(),
            "returns": [
                {
                    "file": r.file, "sha256": r.sha256, "force": r.force,
                    "mode": r.mode.value if r.mode else None, "schedule_version": r.schedule_version,
                    "release": r.release, "return_ref": r.return_ref,
                    "inspector": r.inspector, "date": r.date, "status": r.status.value,
                    "answered": r.answered, "responses": r.response_count,
                    "saved_by": r.saved_by, "client_changes": r.client_changes,
                    "findings": [f.model_dump(mode="json") for f in r.findings],
                }
                for r in self.returns
            ],
        }
        return out

    def write_json(self, path: Path) -> None:
        write_output(path, storable_json(self.to_dict(), indent=2).encode("utf-8"))

    def client_notes(self, named_in: str = "") -> list[str]:
        """One line for the returns whose application changed the same things in their frame (most often all
        those LibreOffice saved), counting them: never a line per return, as nothing in them needs doing.
        `named_in` says where each is named."""
        groups: dict[tuple[str, ...], list[Return]] = {}
        for r in self.returns:
            if r.client_changes and r.status is not ReturnStatus.WITHDRAWN:
                groups.setdefault(tuple(r.client_changes), []).append(r)
        lines = []
        for changes, returns in groups.items():
            apps = sorted({r.saved_by or "" for r in returns}, key=lambda app: (not app, app))
            who = " or ".join(app or "an application the file does not name" for app in apps)
            what = " and ".join(CLIENT_CHANGES.get(change, change) for change in changes)
            n = len(returns)
            lines.append(f"{_plural(n, 'return')} {'was' if n == 1 else 'were'} saved by {who}, which {what}; "
                         f"the content checks would show any edit, so this alone rejects none"
                         + (f" (each is named in {named_in})" if named_in else ""))
        return lines

    def lines(self, limit: int = MAX_FINDINGS_SHOWN, rest: str = "the --report JSON", named_in: str = "") -> list[str]:
        """What the console shows: a line per return, a blank line, a line per finding (the first `limit`,
        then a line saying how many more and where they are: `rest`), the notes (those on what applications
        changed counted, each return `named_in` those places)."""
        out = _aligned([_return_cells(r) for r in self.returns])
        findings = self.findings
        if findings:
            out += ["", *(finding_line(f) for f in findings[:limit])]
        if len(findings) > limit:
            more = len(findings) - limit
            out.append(f"... and {more:,} more {'finding' if more == 1 else 'findings'}, not shown here: "
                       f"every finding is in {rest}.")
        out += [f"note: {printable(note)}" for note in self.notes + self.client_notes(named_in)]
        return out

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.accepted} of {_plural(c.returns, 'return')} accepted "
            f"({c.rejected} rejected, {c.duplicates} duplicate); "
            f"{_plural(c.errors, 'error')}, {_plural(c.warnings, 'warning')}."
        )


def _return_cells(r: Return) -> list[str]:
    return [
        shown_file(r.file), shown(r.force or "-"), shown(r.return_ref or "-"), r.status.value,
        _plural(len(r.errors()), "error"), _plural(len(r.warnings()), "warning"),
        f"{r.answered}/{r.response_count} answered" if r.status is not ReturnStatus.WITHDRAWN else "not in this run",
    ]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded to their widest cell, so the eye (and `column -t`) can follow them."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def finding_line(f: Finding) -> str:
    """`file: 'Sheet'!Cell: severity code: message`, the place written as an Excel reference."""
    where = ""
    if f.sheet is not None:
        where = excel_ref(shown(f.sheet), f.cell)
    place = f"{shown_file(f.file)}: {printable(where)}:" if where else f"{shown_file(f.file)}:"
    return f"{place} {f.severity.value} {f.code}: {printable(f.message)}"


def excel_ref(sheet: str, cell: str | None) -> str:
    """A sheet and cell as a formula would name them: Cover!B10, '1 Initial contact'!C9."""
    plain = sheet.replace("_", "a").isalnum() and not sheet[:1].isdigit()
    name = sheet if plain else quote_sheet(sheet)
    return f"{name}!{cell}" if cell else name


def printable(text: str) -> str:
    """Text from a return made safe for a terminal: control characters shown as escapes, never obeyed; a file
    name's bytes that are not UTF-8 as \\xNN, as the files written say them."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in storable(text))


def shown(text: str, width: int = SHOWN_VALUE) -> str:
    """A value from a return as a console line shows it: printable, and cut with an ellipsis past `width`."""
    return cut(printable(text), width)


def cut(text: str, width: int = SHOWN_VALUE) -> str:
    """`text` as it is up to `width` characters, else its start and an ellipsis: for a value quoted in a
    sentence (the text of a workbook, where it is not escaped) that must stay one."""
    return text if len(text) <= width else text[:width - 1] + ELLIPSIS


def shown_file(name: str, width: int = SHOWN_FILE) -> str:
    """A file's name as a console line shows it: printable, and past `width` cut at its start, so the end that
    tells one return from another (Kent-R1.xlsx) stays."""
    text = printable(name)
    return text if len(text) <= width else ELLIPSIS + text[len(text) - width + 1:]
