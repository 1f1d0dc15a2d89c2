"""Pydantic models of the assessment schedule: pure data, no I/O.

`schedule.py` reads `schedule.toml` into these; everything else works from them.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

#: Excel refuses these characters in a sheet name.
SHEET_NAME_FORBIDDEN = set("[]:*?/\\")
SHEET_NAME_MAX = 31
#: Sheet names the tool itself uses.
COVER_SHEET = "Cover"
META_SHEET = "_xlschedule"
#: A section's judgment on its indicator has the section's ref and this suffix: "3.J", "OA.J".
JUDGMENT_SUFFIX = ".J"


def is_judgment_ref(ref: str) -> bool:
    return ref.endswith(JUDGMENT_SUFFIX)


def judgment_ref(section_ref: str) -> str:
    return f"{section_ref}{JUDGMENT_SUFFIX}"


class Mode(StrEnum):
    """How a schedule is scored."""

    YESNO = "yesno"
    SCALE = "scale"
    NARRATIVE = "narrative"


def check_sheet_name(name: str) -> str:
    """Return `name` if Excel accepts it as a sheet name, else raise ValueError saying why."""
    if not name or not name.strip():
        raise ValueError("a sheet name cannot be empty")
    if len(name) > SHEET_NAME_MAX:
        raise ValueError(f"sheet name {name!r} is {len(name)} characters; Excel allows {SHEET_NAME_MAX} at most")
    bad = sorted(SHEET_NAME_FORBIDDEN.intersection(name))
    if bad:
        raise ValueError(f"sheet name {name!r} contains {' '.join(bad)}, which Excel forbids in sheet names")
    if name.startswith("'") or name.endswith("'"):
        raise ValueError(f"sheet name {name!r} starts or ends with an apostrophe, which Excel forbids")
    if name.lower() == "history":
        raise ValueError("Excel reserves the sheet name 'History'")
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduleInfo(_Strict):
    id: Text
    version: Text
    title: Text
    inspection: Text
    protective_marking: Text = "OFFICIAL-SENSITIVE"
    default_mode: Mode = Mode.YESNO
    not_applicable: Text = "N/A"


class ModeSpec(_Strict):
    title: Text
    options: list[Text] = Field(default_factory=list)
    prompt: Text
    labels: dict[str, Text] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _labels_name_options(self) -> ModeSpec:
        unknown = sorted(set(self.labels) - set(self.options))
        if unknown:
            raise ValueError(f"labels given for {unknown}, which are not among the options {self.options}")
        for option in self.options:
            if "," in option or '"' in option:
                raise ValueError(f"option {option!r} contains a comma or a double quote, which Excel lists cannot hold")
        if len({o.casefold() for o in self.options}) != len(self.options):
            raise ValueError(f"options repeat: {self.options}")
        return self


class PolicyFit(_Strict):
    question: Text
    options: list[Text]


class Forces(_Strict):
    names: list[Text]

    @field_validator("names")
    @classmethod
    def _unique(cls, names: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in names:
            if name.casefold() in seen:
                raise ValueError(f"force {name!r} is listed twice")
            seen.add(name.casefold())
        return names


class Introduction(_Strict):
    columns: list[Text]
    overall: Text
    scoring: Text


class Item(_Strict):
    ref: Text
    text: Text


class Area(_Strict):
    key: Text
    title: Text
    description: Text


class Section(_Strict):
    """A sheet's worth of the schedule: the overall assessment, a step, or leadership."""

    ref: Text
    title: Text
    sheet: Text
    indicator: Text
    items: list[Item] = Field(min_length=1)
    number: int | None = None
    area: str | None = None
    heading: str | None = None
    journey: str | None = None
    guidance: str | None = None

    @field_validator("sheet")
    @classmethod
    def _sheet_ok(cls, name: str) -> str:
        return check_sheet_name(name)

    @property
    def label(self) -> str:
        """How the section is named to people: 'Step 3: Investigation/enquiries'."""
        return f"Step {self.number}: {self.title}" if self.number is not None else self.title

    @property
    def judgment_ref(self) -> str:
        return judgment_ref(self.ref)


class Changes(_Strict):
    """`[changes]`: what became of refs that an earlier version had and this one does not.

    `renamed` maps an earlier ref to the ref that now asks the same thing ("3.7" = "3.8"); `removed`
    lists earlier refs that are no longer asked. Declared refs are carried (or kept as removed) when
    returns of earlier versions are consolidated or upgraded; an undeclared one is an error."""

    renamed: dict[str, Text] = Field(default_factory=dict)
    removed: list[Text] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_both(self) -> Changes:
        both = sorted(set(self.renamed) & set(self.removed))
        if both:
            raise ValueError(f"ref {both[0]!r} is both renamed and removed; declare it once")
        return self


class Schedule(_Strict):
    schedule: ScheduleInfo
    modes: dict[Mode, ModeSpec]
    policy_fit: PolicyFit
    forces: Forces
    introduction: Introduction
    overall: Section
    areas: list[Area]
    steps: list[Section] = Field(min_length=1)
    leadership: Section
    changes: Changes = Field(default_factory=Changes)
    #: The TOML text this schedule was read from, when it was read from one (kept with each issued blank).
    _source: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self) -> Schedule:
        missing = [m.value for m in Mode if m not in self.modes]
        if missing:
            raise ValueError(f"modes {missing} are not defined; define [modes.{missing[0]}]")
        if self.schedule.default_mode not in self.modes:
            raise ValueError(f"default_mode {self.schedule.default_mode!r} is not one of the modes")
        for mode in (Mode.YESNO, Mode.SCALE):
            if not self.modes[mode].options:
                raise ValueError(f"[modes.{mode.value}] needs options")
        for i, step in enumerate(self.steps):
            if step.number != i + 1:
                raise ValueError(f"steps[{i}] has number {step.number}; steps are numbered 1, 2, 3... in order")
        area_keys = {a.key for a in self.areas}
        for section in self.sections:
            if section.area is not None and section.area not in area_keys:
                raise ValueError(f"section {section.ref!r} names area {section.area!r}, which is not in [[areas]]")
        _unique([s.ref for s in self.sections], "section ref")
        _unique([i.ref for s in self.sections for i in s.items] + [s.judgment_ref for s in self.sections], "ref")
        reserved = [COVER_SHEET, META_SHEET]
        _unique(reserved + [s.sheet for s in self.sections], "sheet name", fold=True)
        self._changes_name_refs()
        return self

    def _changes_name_refs(self) -> None:
        refs = set(self.refs)
        for old, new in self.changes.renamed.items():
            if new not in refs:
                raise ValueError(f"[changes] renames {old!r} to {new!r}, which is not a ref of this schedule")
        for old in self.changes.removed:
            if old in refs:
                raise ValueError(f"[changes] lists {old!r} as removed, but this schedule still has it")

    @property
    def refs(self) -> list[str]:
        """Every ref a return answers, in workbook order: each section's judgment, then its items."""
        return [ref for s in self.sections for ref in (s.judgment_ref, *(i.ref for i in s.items))]

    def wording(self, ref: str) -> str | None:
        """What a ref asks: an item's text, or a judgment's indicator; None when this schedule has no such ref."""
        for section in self.sections:
            if ref == section.judgment_ref:
                return section.indicator
            for item in section.items:
                if item.ref == ref:
                    return item.text
        return None

    def section_of(self, ref: str) -> Section | None:
        for section in self.sections:
            if ref == section.judgment_ref or any(i.ref == ref for i in section.items):
                return section
        return None

    def successor(self, ref: str) -> str | None:
        """The ref of this schedule that asks what an earlier version's `ref` asked, or None if it was removed.

        A ref this schedule still has is itself; one declared in [changes] goes where it says. An earlier
        ref that is neither is undeclared: check_history refuses such a schedule, so here it reads as removed."""
        if ref in self.changes.renamed:
            return self.changes.renamed[ref]
        if ref in self.changes.removed:
            return None
        return ref if self.wording(ref) is not None else None

    @property
    def source(self) -> str | None:
        return self._source

    def with_source(self, text: str) -> Schedule:
        self._source = text
        return self

    @property
    def sections(self) -> list[Section]:
        """Sections in workbook order: overall first (completed last), the steps, leadership."""
        return [self.overall, *self.steps, self.leadership]

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)

    def options(self, mode: Mode) -> list[str]:
        """The values a score cell accepts in `mode` (N/A included); empty for narrative."""
        opts = self.modes[mode].options
        return [*opts, self.schedule.not_applicable] if opts else []

    def policy_fit_options(self) -> list[str]:
        return [*self.policy_fit.options, self.schedule.not_applicable]

    @cached_property
    def fingerprint(self) -> str:
        """A hash of what shapes every workbook (not the force list, nor [changes]), to match a return to its
        schedule."""
        content = self.model_dump(mode="json", exclude={"forces", "changes"})
        canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _unique(values: list[str], what: str, fold: bool = False) -> None:
    seen: set[str] = set()
    for value in values:
        key = value.casefold() if fold else value
        if key in seen:
            raise ValueError(f"{what} {value!r} is used twice" + (" (Excel ignores case)" if fold else ""))
        seen.add(key)


def safe_filename(name: str) -> str:
    """A file name stem that is safe on Windows, macOS and Linux: 'Dyfed-Powys' -> 'Dyfed-Powys'."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem or "force"


# --- a read return ------------------------------------------------------------------------


class Severity(StrEnum):
    ERROR = "error"  # rejects the return
    WARNING = "warning"  # accepted, unless --strict


class Finding(BaseModel):
    """One problem with one return, located as precisely as the problem allows: what is wrong (`problem`) and
    what to do about it (`fix`), kept apart; `message` is the two as one line, for the console and the Issues
    sheet. Made with problem and fix (Code.finding), message follows; made with a message alone, it is all
    problem."""

    model_config = ConfigDict(frozen=True)

    file: str
    code: str
    severity: Severity
    message: str = ""
    problem: str = ""
    fix: str = ""
    sheet: str | None = None
    cell: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _message_of_parts(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "message" not in data and "problem" in data:
                data = {**data, "message": " ".join(p for p in (data["problem"], data.get("fix") or "") if p)}
            elif "problem" not in data and "message" in data:
                data = {**data, "problem": data["message"]}
        return data


class ItemStatus(StrEnum):
    """How a response stands against the schedule the run consolidates under."""

    CURRENT = "current"  # answered in a return of the current version
    CARRIED = "carried"  # answered in an earlier version, to the same wording (under its ref, or a renamed one)
    REWORDED = "reworded"  # answered in an earlier version, to other wording under the same ref
    REMOVED = "removed"  # answered in an earlier version; the current version no longer asks it
    NOT_ASKED = "not asked"  # new in the current version: the return's version never asked it


class Response(BaseModel):
    """One item or judgment row of one return. `score` is the canonical option ("Yes", "4", "N/A").

    A return of an earlier schedule version is consolidated under the current one: `ref` and `section`
    are the current ones, `status` says how the answer carried, and `worded_as` names the version whose
    wording (`asked`) the answer was given to, where that is not the current wording."""

    section: str  # section ref: "OA", "1".."9", "LMG"
    ref: str  # item ref "3.7", or judgment ref "3.J"
    sheet: str
    score: str | None = None
    policy: str | None = None
    evidence: str | None = None
    score_cell: str | None = None
    policy_cell: str | None = None
    evidence_cell: str
    schedule_version: str | None = None
    release: str | None = None  # the xlschedule release that built the return's blank
    status: ItemStatus = ItemStatus.CURRENT
    worded_as: str | None = None  # schedule version whose wording was answered (reworded and removed rows)
    asked: str | None = None  # that wording
    asked_ref: str | None = None  # the ref it was asked under, where [changes] renamed it

    @property
    def is_judgment(self) -> bool:
        return is_judgment_ref(self.ref)


class ReturnStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    WITHDRAWN = "withdrawn"  # judged in an earlier run, gone from the folder now


#: What a spreadsheet application may change in a return's frame when it saves it, which no check depends on
#: (the content is checked): each change's key, as the JSON report gives it, and what the application did.
CLIENT_CHANGES = {
    "metadata-sheet-shown": f"shows the '{META_SHEET}' sheet (very hidden in the blank)",
    "structure-unlocked": "drops the lock on the workbook's structure",
}


class Return(BaseModel):
    """What was read from one returned file, and whether it can be trusted."""

    file: str  # as given on the command line (or found in a folder)
    sha256: str = ""
    force: str | None = None
    mode: Mode | None = None
    schedule_version: str | None = None
    release: str | None = None  # the xlschedule release that built its blank (tool_version)
    return_ref: str | None = None
    inspector: str | None = None
    date: str | None = None  # ISO date when recognised, else the text as typed
    responses: list[Response] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # about this file in this run (the ledger's record, a rewrite)
    saved_by: str | None = None  # the application that saved it last, where its file names one we know
    #: What that application changed in the workbook's frame that no check depends on (CLIENT_CHANGES' keys).
    client_changes: list[str] = Field(default_factory=list)
    status: ReturnStatus = ReturnStatus.ACCEPTED
    #: Set when the responses are no longer held (they are in the ledger): how many, and how many answered.
    kept_counts: tuple[int, int] | None = None

    def drop_responses(self, answered: int | None = None, count: int | None = None) -> None:
        """Let go of the responses, keeping their counts (given, or those of the responses held)."""
        self.kept_counts = (
            self.answered if answered is None else answered, self.response_count if count is None else count
        )
        self.responses = []

    @property
    def response_count(self) -> int:
        return self.kept_counts[1] if self.kept_counts is not None else len(self.responses)

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def answered(self) -> int:
        """Responses to the current schedule with an answer: a score in the scored modes, evidence in narrative.
        An answer to an item the current version removed is kept, but not counted here."""
        if self.kept_counts is not None:
            return self.kept_counts[0]
        current = [r for r in self.responses if r.status is not ItemStatus.REMOVED]
        if self.mode is Mode.NARRATIVE:
            return sum(1 for r in current if r.evidence)
        return sum(1 for r in current if r.score is not None)

    @property
    def total(self) -> int:
        """Responses read (answered or not)."""
        return self.response_count


def carry_responses(
    responses: list[Response], asked: Schedule, current: Schedule, release: str | None = None
) -> list[Response]:
    """A return's responses to the schedule version it `asked`, given under the `current` schedule by ref.

    An unchanged item carries; an item reworded under the same ref (or one [changes] renamed) carries
    with the wording it was answered to; an item the current version removed is kept, marked removed;
    an item new in the current version is added as not asked, with no answer."""
    version = asked.schedule.version
    if asked.fingerprint == current.fingerprint:
        return [r.model_copy(update={"schedule_version": version, "release": release}) for r in responses]
    out: list[Response] = []
    for r in responses:
        update: dict[str, object] = {"schedule_version": version, "release": release}
        then = asked.wording(r.ref)
        ref = current.successor(r.ref)
        section = current.section_of(ref) if ref is not None else None
        if ref is None or section is None:
            update |= {"status": ItemStatus.REMOVED, "worded_as": version, "asked": then}
        else:
            reworded = current.wording(ref) != then
            update |= {
                "ref": ref, "section": section.ref, "asked_ref": r.ref if ref != r.ref else None,
                "status": ItemStatus.REWORDED if reworded else ItemStatus.CARRIED,
                "worded_as": version if reworded else None, "asked": then if reworded else None,
            }
        out.append(r.model_copy(update=update))
    answered = {r.ref for r in out if r.status is not ItemStatus.REMOVED}
    for section in current.sections:
        for ref in (section.judgment_ref, *(i.ref for i in section.items)):
            if ref not in answered:
                out.append(Response(section=section.ref, ref=ref, sheet=section.sheet, evidence_cell="",
                                    schedule_version=version, release=release, status=ItemStatus.NOT_ASKED))
    return out
