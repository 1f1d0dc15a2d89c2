"""The ingest pipeline: find the returns, read each, check it against its rebuilt blank, settle duplicates.

One bad file never stops the run: every problem becomes a finding on that file's return.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from . import __version__, checks, feedback_mark, layout, parallel
from .build import build_blank, fingerprint_of, locked_values, name_force
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
    carry_responses,
)
from .packager import temporary_for, workbook_bytes
from .read import (
    WorkbookSnapshot,
    ensure_safe_xml,
    file_kind,
    read_workbook,
)
from .registry import README as REGISTRY_README
from .registry import REGISTRY_DIR, Blank, Form, FormRow, Registry, locked_cells, plausible_release
from .report import Report
from .schedule import check_history

OWNER_FILE_PREFIX = "~$"
#: Taken from folders. Anything that looks like a spreadsheet is read, so that a return saved in the
#: wrong format is reported (with how to fix it) rather than silently left out.
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".xltx", ".xltm", ".ods", ".csv"}
#: feedback.SUMMARY_FILE and how it begins (that module imports this one): a folder holding it is our output.
FEEDBACK_SUMMARY, FEEDBACK_HEAD = "feedback.txt", "Feedback from the xlschedule run of "


def what_it_is(path: Path) -> str | None:
    """None for a regular file (or a link to one, which is followed); else what `path` is, for a message.
    Only looks (stat), never opens: a named pipe is never waited on."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            return "a link that loops" if exc.errno == errno.ELOOP else "a link to nothing (its target is gone)"
        return f"a path that cannot be looked at ({exc.strerror or exc})"
    return file_kind(mode)


def _begins(path: Path, head: str) -> bool:
    """Whether `path` is a regular file that begins with `head` (opened without waiting, read no further)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.read(fd, len(head.encode())) == head.encode()
    except OSError:
        return False
    finally:
        os.close(fd)


REGISTRY_NOTE = "the registry of issued blanks (its blanks are not returns)"


def is_registry(folder: Path) -> bool:
    """A registry of issued blanks, by its layout (registry.py): a blanks folder, and its name or its README."""
    return (folder / "blanks").is_dir() and (
        folder.name == REGISTRY_DIR or _begins(folder / "README.txt", REGISTRY_README.splitlines()[0])
    )


def own_folder(folder: Path) -> str | None:
    """What a folder is when it is one xlschedule writes (never returns), or None."""
    if is_registry(folder):
        return REGISTRY_NOTE
    if _begins(folder / FEEDBACK_SUMMARY, FEEDBACK_HEAD):
        return ("a folder of feedback copies xlschedule wrote (they go to the forces, and come back as returns; "
                "put those with the returns)")
    return None


def _walk(root: Path, notes: list[str]) -> list[Path]:
    """Every file below `root` (regular or not: the caller sorts them out), passing over our own folders and
    not following links to folders (a link may loop), each with a note."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        notes.append(f"skipped {exc.filename}: cannot look inside it ({exc.strerror or exc})")

    for top, folders, names in os.walk(root, onerror=unreadable):
        here = Path(top)
        keep = []
        for name in sorted(folders):
            folder = here / name
            ours = own_folder(folder)
            if folder.is_symlink():
                notes.append(f"skipped {folder}: a link to a folder, not followed; name the folder itself to read it")
            elif ours:
                notes.append(f"skipped {folder}: {ours}")
            else:
                if folder.suffix.lower() in SPREADSHEET_SUFFIXES:
                    notes.append(f"{folder}: a folder, not a workbook (a workbook is one file); looked inside it")
                keep.append(name)
        folders[:] = keep
        found.extend(here / name for name in names)
    return sorted(found)


def collect(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Files to ingest, in a stable order, and notes about what was skipped.

    From a folder, only regular files (and links to them) with a spreadsheet's suffix are taken; anything
    else named like one (a named pipe, a link to nothing, a link that loops) is named in a note. The
    registry, feedback folders found inside a folder and our temporary files are never returns. A path named
    on the command line is taken as given (but for the registry and a temporary file of ours); if it is not a
    file, its return says so (check_return)."""
    files: list[Path] = []
    taken: set[Path] = set()  # a file named twice (a folder and a file in it) is read once
    notes: list[str] = []
    for path in paths:
        inside = path.is_dir()
        if inside and is_registry(path):
            notes.append(f"skipped {path}: {REGISTRY_NOTE}")
            continue
        for file in _walk(path, notes) if inside else [path]:
            spreadsheet = file.suffix.lower() in SPREADSHEET_SUFFIXES
            kind = what_it_is(file) if inside and spreadsheet else None
            if file.name.startswith(OWNER_FILE_PREFIX):
                notes.append(f"skipped {file}: an Excel owner (lock) file, not a return")
            elif temporary_for(file.name) is not None:
                notes.append(f"skipped {file}: a temporary file xlschedule writes through (left by a run that was "
                             "stopped), not a return")
            elif inside and not spreadsheet:
                if not file.name.startswith("."):
                    notes.append(f"skipped {file}: not a spreadsheet")
            elif kind is not None:
                notes.append(f"skipped {file}: named like a workbook, but {kind}")
            elif file not in taken:
                taken.add(file)
                files.append(file)
    return files, notes


class Templates:
    """The blanks returns are judged against, as the values of every locked cell per sheet.

    With a registry, each return is judged against the blank its metadata's content fingerprint names, as
    issued (of whatever schedule version, layout and release), once the registry confirms every other
    value the metadata claims. Without one, or for a blank of today's schedule built elsewhere, the
    blank is rebuilt from today's schedule, and used only if its fingerprint is the one the return
    records. One build or read per blank, kept for the life of the process."""

    def __init__(self, schedule: Schedule, registry: Registry | None = None) -> None:
        self.schedule = schedule
        self.registry = registry

    def inputs(self, mode: Mode) -> dict[str, set[str]]:
        """The unlocked cells of each sheet of today's blank in this mode."""
        return self.rebuilt(mode).form.inputs()

    def rebuilt(self, mode: Mode) -> Blank:
        """Today's blank in this mode, built from the current schedule."""
        key = (self.schedule.fingerprint, mode)
        if key not in _REBUILT:
            wb = name_force(build_blank(self.schedule, mode, None), self.schedule, self.schedule.forces.names[0])
            data = workbook_bytes(wb)
            form = Form.of(self.schedule, mode)
            _REBUILT[key] = Blank(
                id="rebuilt", schedule=self.schedule, form=form, layout_version=str(layout.LAYOUT_VERSION),
                releases=[__version__], forces={}, data=data, template=locked_cells(data, form), rebuilt=True,
            )
            _LOCKED_VALUES[key] = locked_values(wb)
        return _REBUILT[key]

    def rebuilt_fingerprint(self, mode: Mode, force: str) -> str:
        """The content fingerprint of today's blank for `force`: the blank's locked values with `force` in the
        cover's force cell (the only locked cell that names the force), hashed as build.name_force does."""
        key = (self.schedule.fingerprint, mode, force)
        if key not in _REBUILT_FINGERPRINTS:
            self.rebuilt(mode)
            force_cell = (COVER_SHEET, layout.cover_cell("force"))
            _REBUILT_FINGERPRINTS[key] = fingerprint_of(
                (sheet, coord, force if (sheet, coord) == force_cell else value)
                for sheet, coord, value in _LOCKED_VALUES[(self.schedule.fingerprint, mode)]
            )
        return _REBUILT_FINGERPRINTS[key]

    def get(self, force: str, mode: Mode) -> checks.Template:
        """Today's blank's locked cells for `force` (what a return of the current version is compared to)."""
        return self.rebuilt(mode).locked(force)

    def resolve(self, file: str, meta: dict[str, str]) -> tuple[Blank | None, list[Finding]]:
        """The blank a return's metadata names, confirmed; or the findings that say why there is none."""
        force, mode = meta["force"], Mode(meta["mode"])
        fingerprint = meta.get("content_fingerprint") or ""
        if self.registry is not None:
            hit = self.registry.by_fingerprint(fingerprint)
            if hit is not None:
                blank, issued_to = hit
                wrong = blank.disagreement(meta, issued_to)
                if wrong is None:
                    return blank, []
                return None, [self._unknown(file, meta, wrong)]
        info = self.schedule.schedule
        claimed = (meta.get("schedule_id"), meta.get("schedule_version"), meta.get("schedule_fingerprint"))
        if claimed != (info.id, info.version, self.schedule.fingerprint):
            if self.registry is not None and self.registry.knows_schedule(meta.get("schedule_fingerprint") or ""):
                return None, [self._unknown(file, meta, "no blank issued from its schedule version has its "
                                                        "content fingerprint")]
            return None, [self._other_version(file, meta)]
        problem = self._rebuild_problem(meta, force, mode, fingerprint)
        if problem:
            return None, [self._unknown(file, meta, problem)]
        return self.rebuilt(mode), []

    def _rebuild_problem(self, meta: dict[str, str], force: str, mode: Mode, fingerprint: str) -> str | None:
        """Why today's blank is not the one a return of today's schedule was built from, or None if it is."""
        if meta.get("layout_version") != str(layout.LAYOUT_VERSION):
            return f"it was built with layout {meta.get('layout_version')!r}, this release has {layout.LAYOUT_VERSION}"
        if not plausible_release(meta.get("tool_version")):
            return f"its tool_version {meta.get('tool_version')!r} is not a release of xlschedule"
        if fingerprint != self.rebuilt_fingerprint(mode, force):
            return "its content fingerprint is not that of the blank this release builds from the schedule"
        return None

    def _where(self) -> str:
        return (f"the registry of issued blanks ({self.registry.root})" if self.registry is not None
                else "this run (no registry of issued blanks was found)")

    def _unknown(self, file: str, meta: dict[str, str], detail: str) -> Finding:
        return Code.UNKNOWN_TEMPLATE.finding(
            file, sheet=META_SHEET, where=self._where(), detail=detail, force=meta.get("force") or "your force"
        )

    def _other_version(self, file: str, meta: dict[str, str]) -> Finding:
        info = self.schedule.schedule
        built = f"{meta.get('schedule_id')} version {meta.get('schedule_version')}"
        if meta.get("schedule_version") == info.version and meta.get("schedule_id") == info.id:
            built += " (but with different content)"
        versions = self.registry.versions(info.id) if self.registry is not None else []
        current = f"{info.id} version {info.version}"
        if self.registry is None:
            known = f"only {current} (no registry of issued blanks was found)"
        else:
            others = [v for v in versions if v != info.version]
            known = current + (f" and the versions in its registry ({', '.join(others)})" if others else
                               f" (its registry, {self.registry.root}, holds no other version)")
        return Code.OTHER_SCHEDULE_VERSION.finding(
            file, sheet=META_SHEET, built=built, known=known, force=meta.get("force") or "your force"
        )


#: Blanks rebuilt in this process, by schedule fingerprint and mode (and each force's content fingerprint).
_REBUILT: dict[tuple[str, Mode], Blank] = {}
_LOCKED_VALUES: dict[tuple[str, Mode], list[tuple[str, str, Any]]] = {}
_REBUILT_FINGERPRINTS: dict[tuple[str, Mode, str], str] = {}


def check_return(
    path: Path, schedule: Schedule, templates: Templates | None = None, open_password: str | None = None
) -> Return:
    """Read one file and judge it on its own (duplicates are settled across the run afterwards).

    The return is judged against the blank it was built from, and its answers are read where that blank
    put them; they are then given under today's schedule, by ref (ItemStatus says how each carried)."""
    name = str(path)
    ret = Return(file=name)
    templates = templates or Templates(schedule)
    kind = what_it_is(path)
    if kind is not None:  # never opened: a named pipe would wait for a writer
        ret.findings.append(Code.NOT_A_FILE.finding(name, what=kind))
        ret.status = ReturnStatus.REJECTED
        return ret
    try:
        snap = read_workbook(path, open_password)
    except ReadError as exc:
        ret.findings.append(exc.code.finding(name, **exc.values))
    else:
        ret.sha256, ret.saved_by = snap.sha256, snap.client
        ret.findings.extend(checks.check_meta(name, snap, schedule))
        if not ret.errors():
            meta = snap.meta() or {}
            blank, findings = templates.resolve(name, meta)
            ret.findings.extend(findings)
            if blank is not None:
                ret.force, ret.mode, ret.schedule_version = meta["force"], blank.mode, meta["schedule_version"]
                ret.release = meta.get("tool_version")
                ret.client_changes = checks.client_changes(snap)
                ret.findings.extend(check_structure(name, snap, blank, ret))
                read_answers(ret, snap, blank)
                ret.responses = carry_responses(ret.responses, blank.schedule, schedule, ret.release)
    if ret.errors():
        ret.status = ReturnStatus.REJECTED
    return ret


def check_structure(name: str, snap: WorkbookSnapshot, blank: Blank, ret: Return) -> Iterator[Finding]:
    """The return's sheets, rows and locked cells against its blank's."""
    assert ret.force is not None  # set from the metadata, which check_meta vetted
    template = blank.locked(ret.force)
    inputs = blank.form.inputs()
    force_cell = blank.form.cover_cell("force")
    rows: dict[str, list[FormRow]] = {}
    for row in blank.form.rows:
        rows.setdefault(row.sheet, []).append(row)
    added = {COVER_SHEET: feedback_mark.added_cover_cells(snap)}  # an upgraded return's re-check line, unchanged
    yield from checks.check_sheets(name, snap, template, ret.force)
    for sheet_name, expected in template.items():
        sheet = snap.sheets.get(sheet_name)
        if sheet is None:
            continue
        if sheet_name in rows:
            moved = list(checks.check_rows(name, sheet, rows[sheet_name], ret.force))
            yield from moved
            if moved:
                continue  # every cell below is off by the same rows: one finding says it all
        free = inputs.get(sheet_name, set()) | added.get(sheet_name, set())
        yield from checks.check_locked(name, sheet, expected, free, ret.force, force_cell)
        yield from checks.check_protection(name, sheet)


def read_answers(ret: Return, snap: WorkbookSnapshot, blank: Blank) -> None:
    """The cover and every answer into `ret`, read where its blank put them, with the findings on their values
    (judged by the return's own schedule version)."""
    assert ret.mode is not None
    name = ret.file
    schedule = blank.schedule
    cover, cover_findings = checks.read_cover(name, snap, blank.form.cover_inputs)
    ret.return_ref, ret.inspector, ret.date = cover["return_ref"], cover["inspector"], cover["date"]
    ret.findings.extend(cover_findings)
    ret.responses, value_findings = checks.read_responses(name, snap, schedule, blank.form)
    ret.findings.extend(value_findings)
    nothing = list(checks.check_nothing_answered(name, ret.responses, value_findings))
    ret.findings.extend(nothing)
    invalid = {(f.sheet, f.cell) for f in value_findings}
    if not nothing:  # one finding says it all
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


NO_REGISTRY_NOTE = (
    "no registry of issued blanks was found, so returns were checked against blanks rebuilt from the current "
    "schedule (other versions and releases cannot be checked); give --registry to use one"
)

#: Below this many files, starting worker processes costs more than it saves.
POOL_THRESHOLD = 24
CHUNKSIZE = 4


class _Checker:
    """One process's checker: the schedule, its templates (built once) and the password to open returns."""

    def __init__(self, schedule: Schedule, open_password: str | None, registry: Path | None = None) -> None:
        self.schedule = schedule
        self.templates = Templates(schedule, Registry(registry) if registry is not None else None)
        self.open_password = open_password


def _check_one(checker: _Checker, path: Path) -> Return:
    return _guarded(path, checker.schedule, checker.templates, checker.open_password)


def check_files(
    files: list[Path], schedule: Schedule, open_password: str | None = None,
    on_file: Callable[[Path], None] | None = None, workers: int | None = None,
    on_result: Callable[[Path, Return], None] | None = None, registry: Registry | None = None,
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
        files, _check_one, _Checker, (schedule, open_password, registry.root if registry is not None else None),
        threshold=POOL_THRESHOLD, chunksize=CHUNKSIZE, size=workers, on_result=arrived,
        on_crash=lambda path: crashed(path, "the reader crashed"),
    )


def check_with_ledger(
    files: list[Path], schedule: Schedule, ledger: RunRecorder, open_password: str | None = None,
    on_file: Callable[[Path], None] | None = None, workers: int | None = None, registry: Registry | None = None,
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
        on_result=lambda path, ret: ledger.record(seen[by_path[path]], ret), registry=registry,
    )
    results.update(zip(todo, checked, strict=True))
    altered = set(ledger.altered)
    for i in todo:
        s, ret = seen[i], results[i]
        if s.path in altered:
            ret.notes.append("the ledger's record of its judgment was changed since it was recorded (it no longer "
                             "matches its digest), so the file was read again and judged afresh")
        if ret.sha256 and ret.sha256 != s.sha256:  # rewritten between its hashing and its reading
            s.sha256, s.size, s.mtime = ret.sha256, None, None  # the bytes judged were not those sized
            ret.notes.append("it changed while this run read it; its judgment is of the bytes last read (the "
                             "ledger has no size for them). Run again once it is no longer being written")
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
    registry: Registry | None = None,
) -> Report:
    """Check every return in `paths` against the blank it was built from, found in `registry` (the blanks
    issued for the round); without one, against blanks rebuilt from `schedule`, which the run notes.
    With a `ledger`, files it has already judged are not read again, each new judgment is recorded as it
    arrives, and the run is recorded with the files withdrawn since."""
    paths = list(paths)
    files, notes = collect(paths)
    if on_start:
        on_start(len(files))
    ensure_safe_xml()
    if registry is None:
        notes.append(NO_REGISTRY_NOTE)
    else:
        check_history(schedule, registry.schedules(), source="the current schedule")
    if ledger is None:
        returns = check_files(files, schedule, open_password, on_file, workers, registry=registry)
    else:
        returns, seen = check_with_ledger(files, schedule, ledger, open_password, on_file, workers, registry)
        if ledger.undigested:
            notes.append(f"{ledger.undigested} file(s) judged by a release whose ledger kept no digest of its "
                         "judgments were read again, so that every judgment reused can be checked")
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
