"""The registry of issued blanks: what `xlschedule build` sent out, kept so that every return is judged
against the blank it was filled in, whatever has changed in the schedule or in xlschedule since.

A registry is a folder. Each blank issued is stored once per schedule version, mode and layout (the
forces' workbooks differ only in the cells that name the force, see build.name_force), with the
content fingerprint of each force's workbook as issued, where each answer sits in it (its form), and
the releases of xlschedule that issued it; each schedule version's TOML is stored beside them:

    xlschedule-registry/
      README.txt
      schedules/<schedule fingerprint>.toml     the schedule of each version issued
      blanks/<blank id>.xlsx                    one force's workbook, as issued
      blanks/<blank id>.json                    what it was built from, each force's fingerprint, its form

A return's metadata names its blank by the content fingerprint; the registry confirms (or not) every
other value the metadata claims. Files are only ever added or replaced whole (written atomically).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from . import __version__, layout
from .errors import OutputError, ScheduleError
from .model import COVER_SHEET, META_SHEET, Mode, Schedule
from .packager import write_atomic
from .read import CellValue, parse_sheets
from .schedule import parse_schedule, schedule_from_text

#: The registry's folder name, inside the folder `xlschedule build` writes to.
REGISTRY_DIR = "xlschedule-registry"
#: Where `xlschedule build` writes by default, relative to the working directory: ingest looks here.
DEFAULT_BUILD_DIR = Path("output")
README = """\
The registry of the blanks xlschedule issued for this round: keep it with the round's records.

xlschedule ingest and xlschedule upgrade read it to judge each return against the blank it was
built from (its schedule version, its layout and the text of the xlschedule release that built it).
Without it, returns can only be checked against a blank rebuilt from today's schedule.
Do not edit or delete files here; xlschedule build adds to it.
"""

Template = dict[str, dict[str, CellValue]]  # sheet -> coord -> value of every locked, non-empty cell


def default_location(build_dir: Path | None = None) -> Path:
    """Where a build into `build_dir` records its blanks (and where ingest looks, for the default folder).

    Builds into `output` or any folder below it (output/scale, say) share output/xlschedule-registry, so
    that ingest run from the same place finds every blank of the round with no option; a build elsewhere
    keeps its registry inside its own folder."""
    folder = Path(build_dir) if build_dir is not None else DEFAULT_BUILD_DIR
    default = DEFAULT_BUILD_DIR.resolve()
    try:
        folder.resolve().relative_to(default)
    except ValueError:
        return folder / REGISTRY_DIR
    return DEFAULT_BUILD_DIR / REGISTRY_DIR


# --- the form: where a blank's answers sit ------------------------------------------------------


@dataclass(frozen=True)
class FormRow:
    """One judgment or item row of a blank: the cell holding its ref, and its input cells."""

    sheet: str
    section: str
    ref: str
    ref_cell: str
    score: str | None
    policy: str | None
    evidence: str

    @property
    def is_item(self) -> bool:
        return not self.ref.endswith(".J")


@dataclass(frozen=True)
class Form:
    """Where the answers sit in one blank, as the layout of the release that built it put them.

    Recorded with each blank, so that a return built by an older release is read where its own blank
    put the answers, not where today's layout would."""

    mode: Mode
    cover: tuple[tuple[str, str], ...]  # cover field -> cell: the force and the inputs
    rows: tuple[FormRow, ...]

    @classmethod
    def of(cls, schedule: Schedule, mode: Mode) -> Form:
        """The form of a blank built today: from layout.py."""
        ref_col = layout.columns(mode).ref
        rows = tuple(
            FormRow(a.sheet, a.section, a.ref, re.sub(r"^[A-Z]+", ref_col, a.evidence), a.score, a.policy, a.evidence)
            for section in schedule.sections for a in layout.answer_rows(section, mode)
        )
        cover = tuple((name, layout.cover_cell(name)) for name in ("force", *layout.COVER_INPUTS))
        return cls(mode, cover, rows)

    def cover_cell(self, name: str) -> str:
        return dict(self.cover)[name]

    @property
    def cover_inputs(self) -> dict[str, str]:
        return {name: cell for name, cell in self.cover if name != "force"}

    def inputs(self) -> dict[str, set[str]]:
        """The unlocked cells of each sheet."""
        by_sheet: dict[str, set[str]] = {COVER_SHEET: set(self.cover_inputs.values())}
        for row in self.rows:
            cells = by_sheet.setdefault(row.sheet, set())
            cells.update(c for c in (row.score, row.policy, row.evidence) if c)
        return by_sheet

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "cover": dict(self.cover),
                "rows": [row.__dict__ for row in self.rows]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Form:
        return cls(Mode(data["mode"]), tuple(data["cover"].items()), tuple(FormRow(**r) for r in data["rows"]))


def workbook_fingerprint(wb: Workbook) -> str:
    """The content fingerprint a workbook records in its metadata sheet (set by build.name_force)."""
    return str(wb[META_SHEET][f"{layout.META_VALUE_COL}{layout.meta_row('content_fingerprint')}"].value)


def locked_cells(data: bytes, form: Form) -> Template:
    """The value of every locked, non-empty cell of a blank's visible sheets, read back through the same
    reader as the returns, with the cover's force cell left out (each force's blank differs only there)."""
    inputs = form.inputs()
    force_cell = form.cover_cell("force")
    template = {
        name: {c: v for c, v in sheet.cells.items() if c not in inputs.get(name, set())}
        for name, sheet in parse_sheets(data).items()
        if name != META_SHEET
    }
    template[COVER_SHEET].pop(force_cell, None)
    return template


def blank_id(template: Template, form: Form) -> str:
    """What identifies a blank whatever force it names: its locked content and where its inputs are."""
    digest = hashlib.sha256(json.dumps(form.to_json(), sort_keys=True).encode())
    for sheet in sorted(template):
        for coord in sorted(template[sheet]):
            cv = template[sheet][coord]
            digest.update(f"{sheet}\0{coord}\0{cv.is_formula}\0{cv.value!r}\0".encode())
    return digest.hexdigest()


# --- one issued blank -----------------------------------------------------------------------------


@dataclass
class Blank:
    """One blank as issued: the schedule version it asks, its form, its locked cells, and how each force's
    workbook was fingerprinted when issued. `data` is one force's workbook as issued."""

    id: str
    schedule: Schedule
    form: Form
    layout_version: str
    releases: list[str]
    forces: dict[str, str]  # force -> content fingerprint of its workbook as issued
    data: bytes = b""
    template: Template = field(default_factory=dict)
    rebuilt: bool = False  # built by this run from today's schedule, not found in a registry

    @property
    def mode(self) -> Mode:
        return self.form.mode

    def locked(self, force: str) -> Template:
        """The locked cells of `force`'s workbook."""
        template = dict(self.template)
        template[COVER_SHEET] = {**template[COVER_SHEET], self.form.cover_cell("force"): CellValue(force)}
        return template

    def disagreement(self, meta: dict[str, str], force: str) -> str | None:
        """What a return's metadata claims that this blank, as issued to `force`, was not; None if nothing."""
        info = self.schedule.schedule
        expected = {
            "schedule_id": info.id, "schedule_version": info.version,
            "schedule_fingerprint": self.schedule.fingerprint, "mode": self.mode.value,
            "layout_version": self.layout_version, "force": force,
        }
        for key, want in expected.items():
            if meta.get(key) != want:
                return f"its {key} is {meta.get(key)!r}, but the blank with its fingerprint has {want!r}"
        if meta.get("tool_version") not in self.releases:
            return (f"its tool_version is {meta.get('tool_version')!r}, but that blank was issued by "
                    f"{', '.join(self.releases)}")
        return None

    def to_json(self) -> dict[str, Any]:
        info = self.schedule.schedule
        return {
            "id": self.id, "schedule_id": info.id, "schedule_version": info.version,
            "schedule_fingerprint": self.schedule.fingerprint, "mode": self.mode.value,
            "layout_version": self.layout_version, "releases": self.releases, "forces": self.forces,
            "form": self.form.to_json(),
        }


# --- the registry ------------------------------------------------------------------------------


class Registry:
    """The blanks issued for a round, and the schedule of each version, in one folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._entries: dict[str, dict[str, Any]] | None = None
        self._blanks: dict[str, Blank] = {}
        self._schedules: dict[str, Schedule] = {}

    @classmethod
    def find(cls, root: Path) -> Registry | None:
        """The registry at `root`, or None when there is none."""
        return cls(root) if (Path(root) / "blanks").is_dir() else None

    @property
    def blanks_dir(self) -> Path:
        return self.root / "blanks"

    @property
    def schedules_dir(self) -> Path:
        return self.root / "schedules"

    # --- reading

    def entries(self) -> dict[str, dict[str, Any]]:
        """Every blank's record, by id."""
        if self._entries is None:
            self._entries = {}
            if self.blanks_dir.is_dir():
                for path in sorted(self.blanks_dir.glob("*.json")):
                    try:
                        entry = json.loads(path.read_text(encoding="utf-8"))
                    except (OSError, ValueError) as exc:
                        raise ScheduleError(f"{path}: the registry's record cannot be read ({exc})") from None
                    self._entries[entry["id"]] = entry
        return self._entries

    def schedule(self, fingerprint: str) -> Schedule | None:
        """The schedule of an issued version, by its fingerprint."""
        if fingerprint not in self._schedules:
            path = self.schedules_dir / f"{fingerprint}.toml"
            if path.is_file():
                schedule = schedule_from_text(path.read_text(encoding="utf-8"), source=str(path))
            elif (json_path := path.with_suffix(".json")).is_file():
                schedule = parse_schedule(json.loads(json_path.read_text(encoding="utf-8")), source=str(json_path))
            else:
                return None
            if schedule.fingerprint != fingerprint:
                raise ScheduleError(f"{path}: this schedule does not match its fingerprint; the registry was edited")
            self._schedules[fingerprint] = schedule
        return self._schedules[fingerprint]

    def schedules(self) -> list[Schedule]:
        """Every schedule version issued, once each."""
        fingerprints = dict.fromkeys(e["schedule_fingerprint"] for e in self.entries().values())
        return [s for f in fingerprints if (s := self.schedule(f)) is not None]

    def versions(self, schedule_id: str) -> list[str]:
        return sorted({e["schedule_version"] for e in self.entries().values() if e["schedule_id"] == schedule_id})

    def blank(self, blank_id: str) -> Blank:
        """An issued blank, its locked cells read once."""
        if blank_id not in self._blanks:
            entry = self.entries()[blank_id]
            schedule = self.schedule(entry["schedule_fingerprint"])
            if schedule is None:
                raise ScheduleError(f"{self.schedules_dir}: the schedule of blank {blank_id} is missing")
            data = (self.blanks_dir / f"{blank_id}.xlsx").read_bytes()
            form = Form.from_json(entry["form"])
            self._blanks[blank_id] = Blank(
                id=blank_id, schedule=schedule, form=form, layout_version=entry["layout_version"],
                releases=list(entry["releases"]), forces=dict(entry["forces"]), data=data,
                template=locked_cells(data, form),
            )
        return self._blanks[blank_id]

    def by_fingerprint(self, content_fingerprint: str) -> tuple[Blank, str] | None:
        """The blank a workbook with this content fingerprint was issued from, and the force it was issued to."""
        for blank_id, entry in self.entries().items():
            for force, fingerprint in entry["forces"].items():
                if fingerprint == content_fingerprint:
                    return self.blank(blank_id), force
        return None

    def knows_schedule(self, fingerprint: str) -> bool:
        return any(e["schedule_fingerprint"] == fingerprint for e in self.entries().values())

    # --- recording

    def record(
        self, schedule: Schedule, mode: Mode, data: bytes, fingerprints: dict[str, str], release: str = __version__
    ) -> Blank:
        """Record a blank issued to the forces in `fingerprints` (force -> its workbook's content fingerprint).

        `data` is one of those workbooks as written. A blank already recorded gains the forces and the release."""
        form = Form.of(schedule, mode)
        template = locked_cells(data, form)
        new_id = blank_id(template, form)
        existing = self.entries().get(new_id)
        blank = Blank(
            id=new_id, schedule=schedule, form=form, layout_version=str(layout.LAYOUT_VERSION),
            releases=sorted({*(existing or {}).get("releases", []), release}),
            forces={**(existing or {}).get("forces", {}), **fingerprints}, data=data, template=template,
        )
        try:
            self.blanks_dir.mkdir(parents=True, exist_ok=True)
            self.schedules_dir.mkdir(parents=True, exist_ok=True)
            if not (self.root / "README.txt").exists():
                write_atomic(self.root / "README.txt", README.encode("utf-8"))
            self._store_schedule(schedule)
            if existing is None:
                write_atomic(self.blanks_dir / f"{new_id}.xlsx", data)
            write_atomic(self.blanks_dir / f"{new_id}.json",
                         json.dumps(blank.to_json(), indent=1, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"{self.root}: cannot record the blank in the registry ({exc.strerror or exc})") from None
        self.entries()[new_id] = blank.to_json()
        self._blanks.pop(new_id, None)
        return blank

    def _store_schedule(self, schedule: Schedule) -> None:
        stem = self.schedules_dir / schedule.fingerprint
        if stem.with_suffix(".toml").exists() or stem.with_suffix(".json").exists():
            return
        if schedule.source is not None:
            write_atomic(stem.with_suffix(".toml"), schedule.source.encode("utf-8"))
        else:  # built from a schedule made in code: its content, as JSON
            content = schedule.model_dump(mode="json")
            write_atomic(stem.with_suffix(".json"), json.dumps(content, indent=1, ensure_ascii=False).encode("utf-8"))
        self._schedules[schedule.fingerprint] = schedule


#: A release as xlschedule writes it (PEP 440, loosely): what a tool_version must look like to be believed.
RELEASE = re.compile(r"\d+(\.\d+)*([._+-]?[0-9A-Za-z]+)*")


def plausible_release(value: str | None) -> bool:
    return value is not None and RELEASE.fullmatch(value) is not None
