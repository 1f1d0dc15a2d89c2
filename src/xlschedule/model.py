"""Pydantic models of the assessment schedule: pure data, no I/O.

`schedule.py` reads `schedule.toml` into these; everything else works from them.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
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
        """A hash of what shapes every workbook (not the force list), to match a return to its schedule."""
        content = self.model_dump(mode="json", exclude={"forces"})
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
    """One problem with one return, located as precisely as the problem allows."""

    model_config = ConfigDict(frozen=True)

    file: str
    code: str
    severity: Severity
    message: str
    sheet: str | None = None
    cell: str | None = None


class Response(BaseModel):
    """One item or judgment row of one return. `score` is the canonical option ("Yes", "4", "N/A")."""

    section: str  # section ref: "OA", "1".."9", "LMG"
    ref: str  # item ref "3.7", or judgment ref "3.J"
    sheet: str
    score: str | None = None
    policy: str | None = None
    evidence: str | None = None
    score_cell: str | None = None
    policy_cell: str | None = None
    evidence_cell: str

    @property
    def is_judgment(self) -> bool:
        return is_judgment_ref(self.ref)


class ReturnStatus(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Return(BaseModel):
    """What was read from one returned file, and whether it can be trusted."""

    file: str  # as given on the command line (or found in a folder)
    sha256: str = ""
    force: str | None = None
    mode: Mode | None = None
    schedule_version: str | None = None
    return_ref: str | None = None
    inspector: str | None = None
    date: str | None = None  # ISO date when recognised, else the text as typed
    responses: list[Response] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # what a client changed that no check depends on
    status: ReturnStatus = ReturnStatus.ACCEPTED
    #: Counts kept for a return whose responses are not held in memory (one judged in an earlier run):
    #: when set, `answered` and `total` give them instead of counting `responses`.
    answered_count: int | None = None
    response_count: int | None = None

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def answered(self) -> int:
        """Responses with an answer: a score in the scored modes, evidence in narrative."""
        if self.answered_count is not None:
            return self.answered_count
        if self.mode is Mode.NARRATIVE:
            return sum(1 for r in self.responses if r.evidence)
        return sum(1 for r in self.responses if r.score is not None)

    @property
    def total(self) -> int:
        """Responses read (answered or not)."""
        return self.response_count if self.response_count is not None else len(self.responses)
