"""The returns of one ingest run, and the figures drawn from them: each figure with the n it rests on,
or the code that says why there is none.

Only accepted returns contribute figures; every return, whatever its status, is counted per force.
N/A is an answer but not a score: it is never averaged as 0 and never counted as missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .. import layout
from ..model import JUDGMENT_SUFFIX, Mode, Response, Return, ReturnStatus, Schedule, Section, is_judgment_ref
from .kit import NOT_APPLICABLE, NOT_AVAILABLE

#: Blocks are laid out in this order wherever modes are shown one after another.
MODE_ORDER = (Mode.SCALE, Mode.YESNO, Mode.NARRATIVE)
SCORED_MODES = (Mode.SCALE, Mode.YESNO)
UNKNOWN_FORCE = "(force not recognised)"


def force_name(ret: Return) -> str:
    return ret.force or UNKNOWN_FORCE


def return_key(ret: Return) -> tuple:
    """Forces alphabetically (unrecognised last), then return reference, then file: the same order every run."""
    force = ret.force or ""
    ref = ret.return_ref or ""
    return (ret.force is None, force.casefold(), force, ref.casefold(), ref, ret.file)


def section_refs(section: Section) -> list[str]:
    """The refs of a section in sheet order: the judgment at the top, then the items."""
    return [section.judgment_ref, *(i.ref for i in section.items)]


class Run:
    """The returns of one ingest, sorted once, with each return's responses indexed by ref."""

    def __init__(self, schedule: Schedule, returns: Iterable[Return]) -> None:
        self.schedule = schedule
        self.returns = sorted(returns, key=return_key)
        self._answers = {id(r): {resp.ref: resp for resp in r.responses} for r in self.returns}
        self.sections = {s.ref: s for s in schedule.sections}
        self.items = {i.ref: i.text for s in schedule.sections for i in s.items}
        self.order = {ref: n for n, ref in enumerate(ref for s in schedule.sections for ref in section_refs(s))}

    @property
    def accepted(self) -> list[Return]:
        return [r for r in self.returns if r.status is ReturnStatus.ACCEPTED]

    def answer(self, ret: Return, ref: str) -> Response | None:
        return self._answers[id(ret)].get(ref)

    def groups(self) -> dict[Mode, dict[str, list[Return]]]:
        """Accepted returns by mode, then force: a force scored in two modes is in each mode's views."""
        groups: dict[Mode, dict[str, list[Return]]] = {}
        for ret in self.accepted:
            if ret.mode is not None:
                groups.setdefault(ret.mode, {}).setdefault(force_name(ret), []).append(ret)
        return {mode: groups[mode] for mode in MODE_ORDER if mode in groups}

    def scored_groups(self) -> dict[Mode, dict[str, list[Return]]]:
        return {m: g for m, g in self.groups().items() if m in SCORED_MODES}

    def forces(self) -> list[str]:
        """Every force of the schedule, in its order, then any other name a return gave, then the unrecognised."""
        names = list(self.schedule.forces.names)
        extra = sorted({r.force for r in self.returns if r.force and r.force not in names}, key=str.casefold)
        unknown = [UNKNOWN_FORCE] if any(r.force is None for r in self.returns) else []
        return [*names, *extra, *unknown]

    def item_text(self, ref: str) -> str:
        """What a ref asks: the item text, or for a judgment 'Judgment: ' and the section's indicator."""
        if is_judgment_ref(ref):
            section = self.sections.get(ref.removesuffix(JUDGMENT_SUFFIX))
            return f"Judgment: {section.indicator if section else ref}"
        return self.items.get(ref, "")

    def answerable(self, mode: Mode) -> int:
        """Cells a complete return in `mode` answers."""
        return len(layout.answer_cells(self.schedule, mode))

    def incomplete(self, ret: Return) -> bool:
        """Accepted with at least one answer cell left empty (N/A is an answer)."""
        return ret.mode is not None and ret.answered < self.answerable(ret.mode)


# --- figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One cell of a view: a number with the format that shows its n, or a code and no number."""

    value: float | int | None
    n: int
    number_format: str = "General"
    code: str = NOT_AVAILABLE

    @property
    def cell(self) -> float | int | str:
        return self.code if self.value is None else self.value


def score_value(schedule: Schedule, mode: Mode, score: str | None) -> float | None:
    """A score as a number to average, or None for N/A and unanswered (which must not count as 0).

    Scale: the option itself (1..5), or its position if the options are not numbers.
    Yes/No: the first option (Yes) is 1 and the others 0, so the mean is the share of Yes.
    """
    options = schedule.modes[mode].options
    if score is None or score not in options:
        return None
    if mode is Mode.YESNO:
        return 1.0 if score == options[0] else 0.0
    return float(score) if score.isdigit() else float(options.index(score) + 1)


def scale_range(schedule: Schedule) -> tuple[float, float]:
    values = [v for o in schedule.modes[Mode.SCALE].options if (v := score_value(schedule, Mode.SCALE, o)) is not None]
    return min(values), max(values)


def with_n(mode: Mode, n: int) -> str:
    """A number format that shows the figure and the n it rests on; the cell keeps the bare number."""
    base = {Mode.SCALE: "0.0", Mode.YESNO: "0%", Mode.NARRATIVE: "0"}[mode]
    return f'{base}" of {n}"' if mode is Mode.NARRATIVE else f'{base}" (n={n})"'


def no_figure_code(schedule: Schedule, answers: list[Response | None], field: str = "score") -> str:
    """[z] when every answer is N/A (nothing applies), else [x] (not answered, so not available)."""
    na = schedule.schedule.not_applicable
    given = [getattr(a, field) if a is not None else None for a in answers]
    return NOT_APPLICABLE if given and all(g == na for g in given) else NOT_AVAILABLE


def figure(run: Run, mode: Mode, returns: list[Return], ref: str) -> Figure:
    """One ref over some returns: the mean score (share of Yes), or in narrative the returns with evidence."""
    answers = [run.answer(r, ref) for r in returns]
    if mode is Mode.NARRATIVE:
        written = sum(1 for a in answers if a is not None and a.evidence)
        return Figure(written, len(returns), with_n(mode, len(returns)))
    values = [v for a in answers if a is not None and (v := score_value(run.schedule, mode, a.score)) is not None]
    if not values:
        return Figure(None, 0, code=no_figure_code(run.schedule, answers))
    return Figure(sum(values) / len(values), len(values), with_n(mode, len(values)))


def not_conforming(run: Run, returns: list[Return], ref: str) -> Figure:
    """Share of policy-fit answers other than the first option (Yes), N/A and unanswered excluded."""
    options = run.schedule.policy_fit.options
    answers = [run.answer(r, ref) for r in returns]
    given = [a.policy for a in answers if a is not None and a.policy in options]
    if not given:
        return Figure(None, 0, code=no_figure_code(run.schedule, answers, "policy"))
    share = sum(1 for p in given if p != options[0]) / len(given)
    return Figure(share, len(given), f'0%" (n={len(given)})"')


def latest_date(returns: list[Return]) -> dt.date | None:
    """The latest date of audit among returns whose date was read as an ISO date."""
    dates = []
    for ret in returns:
        try:
            dates.append(dt.date.fromisoformat(ret.date or ""))
        except ValueError:
            continue
    return max(dates, default=None)


# --- mismatches: practice against policy ------------------------------------------------------------


def thresholds(schedule: Schedule, mode: Mode) -> tuple[float, float]:
    """(low, high): a score at or below low is low, at or above high is high.

    Scale: the two lowest and the two highest points (1-2 low, 4-5 high on a 1-5 scale).
    Yes/No: No is low, Yes is high."""
    if mode is Mode.YESNO:
        return 0.0, 1.0
    lo, hi = scale_range(schedule)
    return lo + 1, hi - 1


@dataclass(frozen=True)
class Mismatch:
    ret: Return
    response: Response
    kind: str


def mismatches(run: Run) -> list[Mismatch]:
    """Judgments whose score and policy fit disagree: high with the last policy option (No), low with the first."""
    yes, *_, no = run.schedule.policy_fit.options
    out: list[Mismatch] = []
    for ret in run.accepted:
        if ret.mode not in SCORED_MODES:
            continue
        low, high = thresholds(run.schedule, ret.mode)
        for section in run.schedule.sections:
            a = run.answer(ret, section.judgment_ref)
            v = score_value(run.schedule, ret.mode, a.score) if a else None
            if a is None or v is None:
                continue
            if v >= high and a.policy == no:
                out.append(Mismatch(ret, a, f"High score, policy fit {no}"))
            elif v <= low and a.policy == yes:
                out.append(Mismatch(ret, a, f"Low score, policy fit {yes}"))
    return out
