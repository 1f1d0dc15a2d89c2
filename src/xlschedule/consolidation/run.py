"""The returns of one ingest run, and the figures drawn from them: each figure with the n it rests on,
or the code that says why there is none.

Only accepted returns contribute figures; every return, whatever its status, is counted per force.
N/A is an answer but not a score: it is never averaged as 0 and never counted as missing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

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


#: The long table's columns: one row per answer, as the Responses sheet, the CSV and the ledger give it.
RESPONSE_COLUMNS = (
    "Force", "Return", "Section", "Ref", "Item", "Score", "Policy fit", "Evidence", "Source file", "Cell",
    "Schedule version", "Release", "Item status", "Wording answered",
)
FORCE, RETURN, SECTION, REF, ITEM, SCORE, POLICY, EVIDENCE, FILE, CELL = range(10)
#: One response row: values in RESPONSE_COLUMNS order.
Row = tuple[Any, ...]
#: A fresh iterator over every response row, each time it is called (a run may read the rows twice).
Rows = Callable[[], Iterable[Row]]


class Run:
    """The returns of one ingest, sorted once, and the figures drawn from their response rows.

    The rows are read once here, into tallies by mode, force and ref: memory grows with forces and refs,
    not with the number of answers. Without `rows`, they are made from each return's responses."""

    def __init__(self, schedule: Schedule, returns: Iterable[Return], rows: Rows | None = None) -> None:
        self.schedule = schedule
        self.returns = sorted(returns, key=return_key)
        self.sections = {s.ref: s for s in schedule.sections}
        self.items = {i.ref: i.text for s in schedule.sections for i in s.items}
        self.order = {ref: n for n, ref in enumerate(ref for s in schedule.sections for ref in section_refs(s))}
        self._answerable: dict[Mode, int] = {}
        self._groups: dict[tuple[int, ...], list[tuple[Mode, str]]] = {}  # by the ids of returns held in .returns
        self.rows: Rows = rows or self.held_rows
        self.tally = Tally(self)
        for row in self.rows():
            self.tally.add(row)

    @property
    def accepted(self) -> list[Return]:
        return [r for r in self.returns if r.status is ReturnStatus.ACCEPTED]

    def held_rows(self) -> Iterator[Row]:
        """Accepted returns in report order, each return's answers in schedule order (unknown refs last)."""
        for ret in self.accepted:
            for answer in sorted(ret.responses, key=lambda a: self.order.get(a.ref, len(self.order))):
                yield self.response_row(ret, answer)

    def response_row(self, ret: Return, answer: Response) -> Row:
        section = self.sections.get(answer.section)
        score = answer.score
        return (
            force_name(ret), ret.return_ref, section.label if section else answer.section, answer.ref,
            self.item_text(answer.ref) or answer.asked or "",
            int(score) if score is not None and score.isdigit() else score,
            answer.policy, answer.evidence, ret.file, answer.score_cell or answer.evidence_cell or None,
            answer.schedule_version, answer.release, answer.status.value, answer.worded_as,
        )

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
        if mode not in self._answerable:
            self._answerable[mode] = len(layout.answer_cells(self.schedule, mode))
        return self._answerable[mode]

    def incomplete(self, ret: Return) -> bool:
        """Accepted with at least one answer cell left empty (N/A is an answer)."""
        return ret.mode is not None and ret.answered < self.answerable(ret.mode)

    def stats(self, returns: list[Return], ref: str) -> Stats:
        """One ref's tallies over some returns: whole groups (every accepted return of a mode and force)."""
        total = Stats()
        key = tuple(map(id, returns))  # the same returns are asked about for every ref: their groups found once
        groups = self._groups.get(key)
        if groups is None:
            groups = self._groups[key] = sorted({(r.mode, force_name(r)) for r in returns if r.mode is not None})
        for mode, force in groups:
            found = self.tally.cells.get((mode, force, ref))
            if found is not None:
                total.merge(found)
        return total


class Stats:
    """What the answers to one ref say, summed: the scores as numbers, N/A, evidence written, policy fit."""

    __slots__ = ("na", "policy", "scored", "total", "written")

    def __init__(self) -> None:
        self.total = 0.0  # the sum of the scores given (as numbers; Yes is 1)
        self.scored = 0  # how many scores were given (N/A and unanswered left out)
        self.na = 0  # scores of N/A
        self.written = 0  # answers with evidence
        self.policy: Counter[str] = Counter()  # policy fit answers given

    def merge(self, other: Stats) -> None:
        self.total += other.total
        self.scored += other.scored
        self.na += other.na
        self.written += other.written
        self.policy.update(other.policy)


class Tally:
    """The response rows of one run, read once, as Stats by (mode, force, ref), and the mismatches."""

    def __init__(self, run: Run) -> None:
        self.schedule = run.schedule
        self.order = run.order
        self.by_file = {r.file: r for r in run.accepted}
        self.judgments = {s.judgment_ref for s in run.schedule.sections}
        self.count = 0  # rows read
        self.cells: dict[tuple[Mode, str, str], Stats] = {}
        self.policies_seen: set[str] = set()  # policy fit answers to judgments in the scored modes
        self._mismatches: list[tuple[tuple, Mismatch]] = []
        yes, *_, no = run.schedule.policy_fit.options
        self.yes, self.no = yes, no
        self.na = run.schedule.schedule.not_applicable
        self.values = {m: {o: score_value(run.schedule, m, o) for o in run.schedule.modes[m].options} for m in Mode}

    def add(self, row: Row) -> None:
        self.count += 1
        ret = self.by_file.get(row[FILE])
        if ret is None or ret.mode is None:
            return  # not an accepted return of this run: listed, but no figures
        mode, ref, score, policy = ret.mode, row[REF], row[SCORE], row[POLICY]
        key = (mode, force_name(ret), ref)
        stats = self.cells.get(key)
        if stats is None:
            stats = self.cells[key] = Stats()
        text = None if score is None else str(score)
        value = self.values[mode].get(text) if text is not None else None
        if value is not None:
            stats.total += value
            stats.scored += 1
        elif text == self.na:
            stats.na += 1
        if row[EVIDENCE]:
            stats.written += 1
        if policy is not None:
            stats.policy[policy] += 1
        if mode in SCORED_MODES and ref in self.judgments:
            if policy is not None:
                self.policies_seen.add(policy)
            if value is not None:
                self.mismatch(ret, row, value)

    def mismatch(self, ret: Return, row: Row, value: float) -> None:
        assert ret.mode is not None
        low, high = thresholds(self.schedule, ret.mode)
        if value >= high and row[POLICY] == self.no:
            kind = f"High score, policy fit {self.no}"
        elif value <= low and row[POLICY] == self.yes:
            kind = f"Low score, policy fit {self.yes}"
        else:
            return
        found = Mismatch(force_name(ret), ret.return_ref, row[SECTION], row[REF], row[SCORE], row[POLICY], kind,
                         ret.file, row[CELL])
        self._mismatches.append(((return_key(ret), self.order.get(row[REF], len(self.order))), found))

    def mismatches(self) -> list[Mismatch]:
        """In return order, then schedule order."""
        return [m for _key, m in sorted(self._mismatches, key=lambda km: km[0])]


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


def figure(run: Run, mode: Mode, returns: list[Return], ref: str) -> Figure:
    """One ref over some returns: the mean score (share of Yes), or in narrative the returns with evidence.
    With no score given: [z] when every return answered N/A (nothing applies), else [x]."""
    stats = run.stats(returns, ref)
    if mode is Mode.NARRATIVE:
        return Figure(stats.written, len(returns), with_n(mode, len(returns)))
    if not stats.scored:
        code = NOT_APPLICABLE if returns and stats.na == len(returns) else NOT_AVAILABLE
        return Figure(None, 0, code=code)
    return Figure(stats.total / stats.scored, stats.scored, with_n(mode, stats.scored))


def not_conforming(run: Run, returns: list[Return], ref: str) -> Figure:
    """Share of policy-fit answers other than the first option (Yes), N/A and unanswered excluded."""
    options = run.schedule.policy_fit.options
    stats = run.stats(returns, ref)
    given = sum(stats.policy[o] for o in options)
    if not given:
        na = stats.policy[run.schedule.schedule.not_applicable]
        return Figure(None, 0, code=NOT_APPLICABLE if returns and na == len(returns) else NOT_AVAILABLE)
    share = (given - stats.policy[options[0]]) / given
    return Figure(share, given, f'0%" (n={given})"')


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
    """A judgment whose score and policy fit disagree, as the Mismatches sheet lists it."""

    force: str
    return_ref: str | None
    section: str
    ref: str
    score: int | str
    policy: str
    kind: str
    file: str
    cell: str | None


def mismatches(run: Run) -> list[Mismatch]:
    """Judgments whose score and policy fit disagree: high with the last policy option (No), low with the first."""
    return run.tally.mismatches()
