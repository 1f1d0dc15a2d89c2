"""The ingest pipeline: find the returns, read each, check it against its rebuilt blank, settle duplicates.

One bad file never stops the run: every problem becomes a finding on that file's return.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import checks, layout, parallel
from .build import build_workbook
from .codes import Code
from .errors import ReadError
from .ledger import RunRecorder, Seen
from .model import (
    COVER_SHEET,
    META_SHEET,
    Finding,
    Mode,
    Return,
    ReturnStatus,
    Schedule,
)
from .packager import workbook_bytes
from .read import (
    CellValue,
    WorkbookSnapshot,
    ensure_safe_xml,
    parse_sheets,
    read_workbook,
)
from .report import Report

OWNER_FILE_PREFIX = "~$"
#: Taken from folders. Anything that looks like a spreadsheet is read, so that a return saved in the
#: wrong format is reported (with how to fix it) rather than silently left out.
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".xltx", ".xltm", ".ods", ".csv"}


def collect(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Files to ingest, in a stable order, and notes about what was skipped."""
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        found = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in found:
            if file.name.startswith(OWNER_FILE_PREFIX):
                notes.append(f"skipped {file}: an Excel owner (lock) file, not a return")
            elif path.is_dir() and file.suffix.lower() not in SPREADSHEET_SUFFIXES:
                if not file.name.startswith("."):
                    notes.append(f"skipped {file}: not a spreadsheet")
            elif file not in files:
                files.append(file)
    return files, notes


class Templates:
    """The blanks, rebuilt and read back through the same reader as the returns, as the values of
    every locked cell per sheet. One build per schedule and mode, kept for the life of the process:
    blanks differ between forces only in the cover's force cell."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self._inputs: dict[Mode, dict[str, set[str]]] = {}

    def inputs(self, mode: Mode) -> dict[str, set[str]]:
        """The unlocked cells of each sheet in this mode."""
        if mode not in self._inputs:
            by_sheet: dict[str, set[str]] = {}
            for cell in layout.input_cells(self.schedule, mode):
                by_sheet.setdefault(cell.sheet, set()).add(cell.cell)
            self._inputs[mode] = by_sheet
        return self._inputs[mode]

    def get(self, force: str, mode: Mode) -> checks.Template:
        key = (self.schedule.fingerprint, mode)
        if key not in _LOCKED_CELLS:
            blank = workbook_bytes(build_workbook(self.schedule, self.schedule.forces.names[0], mode))
            inputs = self.inputs(mode)
            _LOCKED_CELLS[key] = {
                name: {c: v for c, v in sheet.cells.items() if c not in inputs.get(name, set())}
                for name, sheet in parse_sheets(blank).items()
                if name != META_SHEET
            }
        template = dict(_LOCKED_CELLS[key])
        template[COVER_SHEET] = {**template[COVER_SHEET], layout.cover_cell("force"): CellValue(force)}
        return template


#: The locked cells of each blank built in this process, by schedule fingerprint and mode.
_LOCKED_CELLS: dict[tuple[str, Mode], checks.Template] = {}


def check_return(
    path: Path, schedule: Schedule, templates: Templates | None = None, open_password: str | None = None
) -> Return:
    """Read one file and judge it on its own (duplicates are settled across the run afterwards)."""
    name = str(path)
    ret = Return(file=name)
    try:
        snap = read_workbook(path, open_password)
    except ReadError as exc:
        ret.findings.append(exc.code.finding(name, **exc.values))
    else:
        ret.sha256 = snap.sha256
        ret.findings.extend(checks.check_meta(name, snap, schedule))
        if not ret.errors():
            meta = snap.meta() or {}
            ret.force, ret.mode, ret.schedule_version = meta["force"], Mode(meta["mode"]), meta["schedule_version"]
            ret.notes.extend(checks.client_notes(snap))
            ret.findings.extend(check_structure(name, snap, schedule, templates or Templates(schedule), ret))
            read_answers(ret, snap, schedule)
    if ret.errors():
        ret.status = ReturnStatus.REJECTED
    return ret


def check_structure(
    name: str, snap: WorkbookSnapshot, schedule: Schedule, templates: Templates, ret: Return
) -> Iterator[Finding]:
    """The return's sheets, rows and locked cells against its blank's."""
    assert ret.force is not None and ret.mode is not None  # set from the metadata, which check_meta vetted
    template = templates.get(ret.force, ret.mode)
    inputs = templates.inputs(ret.mode)
    yield from checks.check_sheets(name, snap, template, ret.force)
    sections = {s.sheet: s for s in schedule.sections}
    for sheet_name, expected in template.items():
        sheet = snap.sheets.get(sheet_name)
        if sheet is None:
            continue
        if sheet_name in sections:
            moved = list(checks.check_rows(name, sheet, sections[sheet_name], ret.mode, ret.force))
            yield from moved
            if moved:
                continue  # every cell below is off by the same rows: one finding says it all
        yield from checks.check_locked(name, sheet, expected, inputs.get(sheet_name, set()), ret.force)
        yield from checks.check_protection(name, sheet)


def read_answers(ret: Return, snap: WorkbookSnapshot, schedule: Schedule) -> None:
    """The cover and every answer into `ret`, with the findings on their values."""
    assert ret.mode is not None
    name = ret.file
    cover, cover_findings = checks.read_cover(name, snap)
    ret.return_ref, ret.inspector, ret.date = cover["return_ref"], cover["inspector"], cover["date"]
    ret.findings.extend(cover_findings)
    ret.responses, value_findings = checks.read_responses(name, snap, schedule, ret.mode)
    ret.findings.extend(value_findings)
    invalid = {(f.sheet, f.cell) for f in value_findings}
    ret.findings.extend(checks.check_unanswered(name, ret.responses, ret.mode, invalid))
    ret.findings.extend(checks.check_low_scores(name, ret.responses, schedule, ret.mode))
    ret.findings.extend(checks.check_na_steps(name, ret.responses, schedule))


def _guarded(path: Path, schedule: Schedule, templates: Templates, open_password: str | None) -> Return:
    """check_return, with a last line of defence: a file that trips a bug is reported, the run goes on."""
    try:
        return check_return(path, schedule, templates, open_password)
    except Exception as exc:  # noqa: BLE001 - one bad file must not take the other returns down
        return crashed(path, type(exc).__name__)


def crashed(path: Path, detail: str) -> Return:
    ret = Return(file=str(path), status=ReturnStatus.REJECTED)
    ret.findings.append(Code.UNEXPECTED_ERROR.finding(str(path), detail=detail))
    return ret


def settle_duplicates(returns: list[Return]) -> None:
    """The same file twice, or the same force and return reference twice: keep the first, mark the rest."""
    by_hash: dict[str, Return] = {}
    by_ref: dict[tuple[str, str], Return] = {}
    for ret in returns:
        if not ret.sha256:
            continue
        first = by_hash.setdefault(ret.sha256, ret)
        if first is not ret:
            ret.findings.append(Code.DUPLICATE_FILE.finding(ret.file, other=first.file))
            ret.status = ReturnStatus.DUPLICATE
            continue
        if ret.status is not ReturnStatus.ACCEPTED or not ret.return_ref or not ret.force:
            continue
        key = (ret.force, ret.return_ref.casefold())
        first = by_ref.setdefault(key, ret)
        if first is not ret:
            ret.findings.append(
                Code.DUPLICATE_RETURN.finding(ret.file, force=ret.force, return_ref=ret.return_ref, other=first.file)
            )
            ret.status = ReturnStatus.DUPLICATE


def apply_strict(returns: list[Return]) -> None:
    for ret in returns:
        if ret.status is ReturnStatus.ACCEPTED and ret.warnings():
            ret.findings.append(Code.REJECTED_STRICT.finding(ret.file, count=len(ret.warnings())))
            ret.status = ReturnStatus.REJECTED


#: Below this many files, starting worker processes costs more than it saves.
POOL_THRESHOLD = 24
CHUNKSIZE = 4


class _Checker:
    """One process's checker: the schedule, its templates (built once) and the password to open returns."""

    def __init__(self, schedule: Schedule, open_password: str | None) -> None:
        self.schedule = schedule
        self.templates = Templates(schedule)
        self.open_password = open_password


def _check_one(checker: _Checker, path: Path) -> Return:
    return _guarded(path, checker.schedule, checker.templates, checker.open_password)


def check_files(
    files: list[Path], schedule: Schedule, open_password: str | None = None,
    on_file: Callable[[Path], None] | None = None, workers: int | None = None,
    on_result: Callable[[Path, Return], None] | None = None,
) -> list[Return]:
    """Check every file, on all cores when there are many. Results keep the files' order; `on_result` hears
    of each as it arrives (before `on_file`), in that order.

    A file whose worker process dies (a reader crashing the process, which no finding could catch) is
    rejected as an unexpected error; the other files are checked as usual."""

    def arrived(path: Path, ret: Return) -> None:
        if on_result:
            on_result(path, ret)
        if on_file:
            on_file(path)

    return parallel.run(
        files, _check_one, _Checker, (schedule, open_password),
        threshold=POOL_THRESHOLD, chunksize=CHUNKSIZE, size=workers, on_result=arrived,
        on_crash=lambda path: crashed(path, "the reader crashed"),
    )


def check_with_ledger(
    files: list[Path], schedule: Schedule, ledger: RunRecorder, open_password: str | None = None,
    on_file: Callable[[Path], None] | None = None, workers: int | None = None,
) -> tuple[list[Return], list[Seen]]:
    """Check the files the ledger has not judged (bytes, template and tool version), take the others'
    judgments from it, and record each new judgment as it arrives. Results keep the files' order."""
    seen = [Seen.of(path) for path in files]
    results: dict[int, Return] = {}
    todo: list[int] = []
    for i, s in enumerate(seen):
        s.return_id = ledger.judgment(s)
        if s.return_id is None:
            todo.append(i)
        else:
            results[i] = ledger.cached(s)
            if on_file:
                on_file(s.path)
    by_path = {seen[i].path: i for i in todo}
    checked = check_files(
        [seen[i].path for i in todo], schedule, open_password, on_file, workers,
        on_result=lambda path, ret: ledger.record(seen[by_path[path]], ret),
    )
    results.update(zip(todo, checked, strict=True))
    return [results[i] for i in range(len(seen))], seen


def ingest(
    paths: Iterable[Path],
    schedule: Schedule,
    strict: bool = False,
    open_password: str | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    workers: int | None = None,
    ledger: RunRecorder | None = None,
) -> Report:
    """Check every return under `paths`. With a `ledger`, files it has already judged are not read again,
    each new judgment is recorded as it arrives, and the run is recorded with the files withdrawn since."""
    paths = list(paths)
    files, notes = collect(paths)
    if on_start:
        on_start(len(files))
    ensure_safe_xml()
    if ledger is None:
        returns = check_files(files, schedule, open_password, on_file, workers)
    else:
        returns, seen = check_with_ledger(files, schedule, ledger, open_password, on_file, workers)
    settle_duplicates(returns)
    if strict:
        apply_strict(returns)
    notes += [f"{ret.file}: {note}" for ret in returns for note in ret.notes]
    report = Report(returns=returns, notes=notes)
    if ledger is not None:
        withdrawn, report.files = ledger.finish(returns, seen, paths)
        report.returns += withdrawn
        report.notes += [
            f"{ret.file}: withdrawn: the ledger last saw it among these returns and it is gone; it is left out "
            "of the consolidation. Put it back if it was removed by mistake"
            for ret in withdrawn
        ]
    return report
