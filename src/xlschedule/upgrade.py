"""Carry a return's answers into a fresh blank of the current schedule: `xlschedule upgrade`.

A return is read and judged as ingest judges it (against the blank it was built from), its answers are
given under the current schedule by ref, and they are typed into a fresh blank for the same force and
mode: cover, scores, policy fit, evidence and judgments. Each item reworded since the return was filled,
new in the current version, or whose score is no longer an option is marked where it sits (a note and a
red highlight, as a feedback copy marks a finding), and a line on the cover says how many there are to
re-check; ingest passes over that line while it is unchanged (feedback_mark). The inputs are never
changed; each output is written atomically. `carry` (answers into a blank) is the library function
other commands reuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, PatternFill

from . import feedback_mark, layout
from .build import build_blank, fit_row_to, name_force, open_blank
from .checks import normalise_option
from .errors import OutputError, UsageError
from .ingest import Templates, check_return, collect, crashed
from .model import COVER_SHEET, ItemStatus, Mode, Return, ReturnStatus, Schedule
from .packager import cannot_write, excel_text, workbook_bytes, write_atomic
from .protection import PasswordHash, hash_password
from .read import ensure_safe_xml
from .registry import Form, Registry, workbook_fingerprint
from .report import printable
from .schedule import check_history
from .styles import BODY, BOLD, text_height


@dataclass(frozen=True)
class RowAnswer:
    """What was given on one judgment or item row; None where nothing was."""

    score: str | None = None
    policy: str | None = None
    evidence: str | None = None


@dataclass
class Answers:
    """A return's answers by what they answer (cover fields, and refs), ready for any blank of its mode."""

    cover: dict[str, object] = field(default_factory=dict)  # return_ref, inspector, date
    rows: dict[str, RowAnswer] = field(default_factory=dict)  # ref -> its answers

    @classmethod
    def of(cls, ret: Return) -> Answers:
        """The answers of a return read by ingest, under the current refs (removed items left out)."""
        cover: dict[str, object] = {"return_ref": ret.return_ref, "inspector": ret.inspector, "date": _date(ret.date)}
        rows = {
            r.ref: RowAnswer(r.score, r.policy, r.evidence)
            for r in ret.responses
            if r.status not in (ItemStatus.REMOVED, ItemStatus.NOT_ASKED)
            and (r.score is not None or r.policy is not None or r.evidence is not None)
        }
        return cls({k: v for k, v in cover.items() if v is not None}, rows)


def _date(text: str | None) -> object:
    """The date of audit as a date where ingest read it as one, else the text as typed."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def carry(answers: Answers, blank: bytes, form: Form) -> bytes:
    """`blank` (a workbook's bytes, whose cells `form` maps) with `answers` typed into it, as bytes.

    Only input cells are written, so the blank's protection, validations and hidden sheet are kept.
    Scores that are numbers are written as numbers (as a dropdown enters them); evidence is always text,
    even when it starts with '='. Refs the form does not have are left out: see `not_placed`."""
    wb = open_blank(blank)
    carry_into(answers, wb, form)
    return workbook_bytes(wb)


def carry_into(answers: Answers, wb: Workbook, form: Form) -> None:
    """`carry`, into a blank already open: for a caller that adds more to the workbook before saving it."""
    cover = wb[COVER_SHEET]
    for name, value in answers.cover.items():
        if name in form.cover_inputs and value is not None:
            _text_or_value(cover[form.cover_inputs[name]], value)
    for row in form.rows:
        given = answers.rows.get(row.ref)
        if given is None:
            continue
        ws = wb[row.sheet]
        if row.score and given.score is not None:
            ws[row.score].value = int(given.score) if given.score.isdigit() else given.score
        if row.policy and given.policy is not None:
            ws[row.policy].value = given.policy
        if given.evidence is not None:
            _text_or_value(ws[row.evidence], given.evidence)
            if isinstance(given.evidence, str):
                fit_row_to(ws, row.evidence, given.evidence)


def _text_or_value(cell: object, value: object) -> None:
    """Write text as text, whole (never a formula; control characters and carriage returns as Excel keeps
    them), other values as they are."""
    if isinstance(value, str):
        cell.value = excel_text(value)  # type: ignore[attr-defined]
        cell.data_type = "s"  # type: ignore[attr-defined]
    else:
        cell.value = value  # type: ignore[attr-defined]


def not_placed(answers: Answers, form: Form) -> list[str]:
    """Refs with answers that the form has no row for."""
    refs = {row.ref for row in form.rows}
    return [ref for ref in answers.rows if ref not in refs]


# --- upgrading returns -----------------------------------------------------------------------------


@dataclass
class Upgraded:
    """What became of one return: where it was written (None if it was not), and what carried."""

    ret: Return
    out: Path | None = None
    carried: list[str] = field(default_factory=list)  # refs answered to the same wording
    reworded: list[str] = field(default_factory=list)  # refs answered to an earlier wording
    removed: list[str] = field(default_factory=list)  # refs answered that the current schedule no longer asks
    dropped: list[str] = field(default_factory=list)  # refs whose score is not an option any more
    new: list[str] = field(default_factory=list)  # refs the return's version never asked
    failed: str = ""  # why the upgraded file could not be written (a full disk, say); the others still are

    @property
    def ok(self) -> bool:
        return self.out is not None

    def line(self, current: str) -> str:
        """One line saying what was carried, what could not be and what is new to answer."""
        if self.failed:
            return f"{printable(self.ret.file)}: not upgraded: {printable(self.failed)}"
        if self.out is None:
            return (f"{printable(self.ret.file)}: not upgraded: {len(self.ret.errors())} error(s), listed below; "
                    "fix them first")
        parts = [f"{printable(self.ret.file)} -> {printable(str(self.out))}: "
                 f"schedule {self.ret.schedule_version} -> {current}",
                 f"carried {len(self.carried) + len(self.reworded)}"]
        for label, refs in (("reworded since, check the answer", self.reworded),
                            ("not carried, removed from the schedule", self.removed),
                            ("not carried, no longer an option", self.dropped),
                            ("new, to answer", self.new)):
            if refs:
                parts.append(f"{label}: {len(refs)} ({', '.join(refs)})")
        return "; ".join(parts)


class _Fresh:
    """Fresh blanks of the current schedule: built once per mode, named for each force, recorded as issued."""

    def __init__(self, schedule: Schedule, registry: Registry | None, password: PasswordHash | None) -> None:
        self.schedule, self.registry, self.password = schedule, registry, password
        self._blanks: dict[Mode, Workbook] = {}

    def blank(self, force: str, mode: Mode) -> bytes:
        if mode not in self._blanks:
            self._blanks[mode] = build_blank(self.schedule, mode, self.password)
        wb = name_force(self._blanks[mode], self.schedule, force)
        data = workbook_bytes(wb)
        if self.registry is not None:
            fingerprint = workbook_fingerprint(wb)
            self.registry.record(self.schedule, mode, data, {force: fingerprint})
        return data


def upgrade(
    paths: Iterable[Path], schedule: Schedule, out_dir: Path, registry: Registry | None = None,
    password: str | None = None, open_password: str | None = None,
    on_file: Callable[[Upgraded], None] | None = None,
) -> list[Upgraded]:
    """Carry every return in `paths` into a fresh blank of `schedule` for its force and mode, in `out_dir`.

    Each return is judged as ingest judges it; one with errors is not upgraded (its findings say why) and
    the run goes on. Raises UsageError when an output would overwrite an input or another output,
    OutputError when `out_dir` cannot be written."""
    files, _notes = collect(paths)
    targets = _targets(files, out_dir)
    ensure_safe_xml()
    if registry is not None:
        check_history(schedule, registry.schedules())
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    templates = Templates(schedule, registry)
    fresh = _Fresh(schedule, registry, hash_password(password) if password else None)
    done: list[Upgraded] = []
    for path in files:
        result = upgrade_one(path, targets[path], schedule, templates, fresh, open_password)
        done.append(result)
        if on_file:
            on_file(result)
    return done


def _targets(files: list[Path], out_dir: Path) -> dict[Path, Path]:
    inputs = {p.resolve() for p in files}
    targets: dict[Path, Path] = {}
    seen: dict[str, Path] = {}
    for path in files:
        target = out_dir / path.name  # it fits: it is a file's name already (and atomic's temporary name fits)
        if target.resolve() in inputs:
            raise UsageError(f"{printable(str(target))}: upgrading would overwrite a return; "
                             "choose another --out folder")
        if target.name.casefold() in seen:
            raise UsageError(f"{printable(str(seen[target.name.casefold()]))} and {printable(str(path))} would both "
                             f"be written to {printable(str(target))}; upgrade them in separate runs")
        seen[target.name.casefold()] = path
        targets[path] = target
    return targets


def upgrade_one(
    path: Path, target: Path, schedule: Schedule, templates: Templates, fresh: _Fresh, open_password: str | None
) -> Upgraded:
    try:
        ret = check_return(path, schedule, templates, open_password)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run, as in ingest
        ret = crashed(path, type(exc).__name__)
    if ret.errors() or ret.status is not ReturnStatus.ACCEPTED or ret.force is None or ret.mode is None:
        return Upgraded(ret)
    result = _sort(ret, schedule, ret.mode)
    answers = Answers.of(ret)
    for ref in result.dropped:
        answers.rows[ref] = RowAnswer(None, answers.rows[ref].policy, answers.rows[ref].evidence)
    try:
        form = Form.of(schedule, ret.mode)
        wb = open_blank(fresh.blank(ret.force, ret.mode))
        carry_into(answers, wb, form)
        mark_changes(wb, result, form, schedule.schedule.version)
        data = workbook_bytes(wb)
    except Exception as exc:  # noqa: BLE001 - as in ingest: the file is named, its text (evidence) never printed
        return Upgraded(crashed(path, type(exc).__name__))
    try:
        write_atomic(target, data)
    except OSError as exc:  # this file is not written; the others still are
        result.failed = str(cannot_write(target, exc))
        return result
    result.out = target
    return result


def _sort(ret: Return, schedule: Schedule, mode: Mode) -> Upgraded:
    """What of a return carries into the current schedule, ref by ref."""
    result = Upgraded(ret)
    options = schedule.options(mode)
    for r in ret.responses:
        answered = r.score is not None or r.policy is not None or bool(r.evidence)
        if r.status is ItemStatus.NOT_ASKED:
            result.new.append(r.ref)
        elif not answered:
            continue
        elif r.status is ItemStatus.REMOVED:
            result.removed.append(r.ref)
        elif r.score is not None and normalise_option(r.score, options) is None:
            result.dropped.append(r.ref)
        elif r.status is ItemStatus.REWORDED:
            result.reworded.append(r.ref)
        else:
            result.carried.append(r.ref)
    return result


# --- what to re-check, marked in the upgraded workbook -----------------------------------------------

#: The cover row the blank leaves empty, above "Still to do", where an upgraded return says what to re-check.
RECHECK_ROW = layout.COVER_PROGRESS_ROW - 1
#: At most this many refs of one kind are named on the cover; each is marked on its sheet anyway.
RECHECK_REFS = 12


def mark_changes(wb: Workbook, result: Upgraded, form: Form, version: str) -> None:
    """Mark each item the inspector must look at again where it sits, with a note saying why (reworded, new
    in `version`, or its score no longer an option), and say on the cover how many there are."""
    where = {row.ref: (row.sheet, row.score or row.evidence) for row in form.rows}
    was = result.ret.schedule_version or "an earlier version"
    why = (
        (result.reworded, f"Reworded in version {version}, since your return was filled (version {was}): read "
                          "the item again and re-check your answer; it was carried as you gave it."),
        (result.dropped, f"Your score was not carried: it is not one of the options in version {version}. Pick "
                         "one from the dropdown; the rest of your answer was carried."),
        (result.new, f"New in version {version}: answer it."),
    )
    marks = {where[ref]: [text] for refs, text in why for ref in refs if ref in where}
    if not marks:
        return
    feedback_mark.mark_cells(wb, marks)
    _recheck_line(wb, result, version, len(marks))


def _recheck_line(wb: Workbook, result: Upgraded, version: str, count: int) -> None:
    """The cover's line saying how many items to re-check and which: in a row the blank leaves empty,
    recorded (feedback_mark) so that ingest passes over it while it is unchanged."""
    cover = wb[COVER_SHEET]
    label, text = f"{layout.COVER_LABEL_COL}{RECHECK_ROW}", f"{layout.COVER_VALUE_COL}{RECHECK_ROW}"
    assert cover[label].value is None and cover[text].value is None, "the blank uses the re-check row"
    kinds = ((result.reworded, "reworded (re-check the answer)"),
             (result.dropped, "whose score is no longer an option (pick one)"),
             (result.new, f"new (answer {'it' if len(result.new) == 1 else 'them'})"))
    listed = "; ".join(f"{len(refs)} {what}: {_refs(refs)}" for refs, what in kinds if refs)
    line = (f"Upgraded from schedule version {result.ret.schedule_version} to {version}: {count} "
            f"item{'s' if count != 1 else ''} to re-check, each highlighted in red where it sits, with a note. "
            f"{listed}.")
    if result.removed:
        line += f" Not carried, as version {version} no longer asks them: {_refs(result.removed)}."
    cover[label].value, cover[label].font, cover[label].alignment = "To re-check", BOLD, Alignment(vertical="top")
    cell = cover[text]
    cell.value = excel_text(line)
    cell.font, cell.alignment = BODY, Alignment(wrap_text=True, vertical="top")
    cell.fill = PatternFill("solid", fgColor=feedback_mark.FLAG_FILL)
    cell.border = feedback_mark.FLAG_BORDER
    cover.row_dimensions[RECHECK_ROW].height = text_height(line, cover.column_dimensions[layout.COVER_VALUE_COL].width)
    feedback_mark.record_cover_cells(wb, [label, text])


def _refs(refs: list[str]) -> str:
    shown = ", ".join(refs[:RECHECK_REFS])
    return shown + (f" and {len(refs) - RECHECK_REFS} more" if len(refs) > RECHECK_REFS else "")

