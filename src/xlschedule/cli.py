"""The command line: click commands, each a thin call into the library."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from . import __version__
from .build import build as build_workbooks
from .build import resolve_forces
from .errors import UnsafeXmlParser, UsageError, XlscheduleError
from .feedback import Copy, FeedbackFor, feedback_line, plan_feedback, prepare_feedback, write_copies
from .ingest import ingest as ingest_returns
from .ledger import DEFAULT_NAME as DEFAULT_LEDGER_NAME
from .ledger import DEFAULT_WAIT, Ledger, RunRecorder
from .ledger import default_path as default_ledger
from .model import Mode, Schedule
from .packager import prepare_output, sweep_temporaries
from .registry import Registry, default_location
from .report import Report, finding_line
from .schedule import load_schedule

if TYPE_CHECKING:
    from .consolidation.run import Rows

#: Exit status for a usage error, a bad schedule.toml or an output that cannot be written.
EXIT_USAGE = 2
PROGRESS_THRESHOLD = 5
DEFAULT_OUT = Path("output") / "consolidated.xlsx"
#: Set to show a fault's traceback (which may quote evidence) instead of one line naming its type.
DEBUG_VARIABLE = "XLSCHEDULE_DEBUG"

err_console = Console(stderr=True)


class Failure(click.ClickException):
    """A problem the user can fix, shown as `error: ...` lines (no traceback), exit status 2."""

    exit_code = EXIT_USAGE

    def show(self, file: IO[Any] | None = None) -> None:
        for line in self.message.splitlines():
            click.echo(f"error: {line}", err=True)


class CannotRun(Failure):
    """The tool cannot run safely here (its XML parser is not defused): exit status 1."""

    exit_code = 1


@contextmanager
def reported() -> Iterator[None]:
    """Turn the library's exceptions into the command line's messages and exit statuses."""
    try:
        yield
    except UnsafeXmlParser as exc:
        raise CannotRun(str(exc)) from None
    except XlscheduleError as exc:
        raise Failure(str(exc)) from None
    except click.ClickException:
        raise
    except Exception as exc:  # a fault in xlschedule: its message may quote a return's text, so it is not shown
        if os.environ.get(DEBUG_VARIABLE):
            raise
        raise Failure(
            f"xlschedule met a fault it did not expect ({type(exc).__name__}) and stopped; what the lines above "
            f"say was done is done. Please report it; {DEBUG_VARIABLE}=1 shows where it happened (its message "
            "may quote a return's text, so keep that output as sensitive as the returns)"
        ) from None


def _progress(show: bool) -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=err_console, disable=not show, transient=True,
        auto_refresh=False,  # no drawing thread: worker processes can then be forked safely
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlschedule")
def main() -> None:
    """Build assessment workbooks from schedule.toml, and consolidate the returns.

    \b
    Example: xlschedule build --mode scale --force Kent
    """


@main.command()
@click.option(
    "--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The schedule to build from. Default: ./schedule.toml, else the one bundled with xlschedule.",
)
@click.option(
    "--mode", type=click.Choice([m.value for m in Mode]),
    help="Scoring mode. Default: default_mode in schedule.toml.",
)
@click.option(
    "--force", "forces", multiple=True, metavar="NAME",
    help="Build only this force (repeatable). Default: every force in schedule.toml.",
)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("output"),
    show_default=True, help="Folder to write the workbooks into.",
)
@click.option(
    "--password", envvar="XLSCHEDULE_PASSWORD", show_envvar=True,
    help="Password that protects the sheets and the workbook structure. Stored as a SHA-512 hash.",
)
@click.option(
    "--registry", "registry_path", type=click.Path(file_okay=False, path_type=Path),
    help="Where to record the blanks issued. Default: output/xlschedule-registry for a build into output "
         "or a folder below it, else xlschedule-registry inside --out.",
)
def build(
    schedule_path: Path | None, mode: str | None, forces: tuple[str, ...], out_dir: Path, password: str | None,
    registry_path: Path | None,
) -> None:
    """Build one protected workbook per force.

    Each workbook has a cover, the overall assessment, a sheet per step and leadership; only the
    input cells are unlocked.

    \b
    Example: xlschedule build --force "Thames Valley" --force Kent --mode yesno --out output
    """
    started = time.perf_counter()
    with reported():
        schedule = load_schedule(schedule_path)
        chosen = resolve_forces(schedule, forces)
        with _progress(len(chosen) >= PROGRESS_THRESHOLD) as progress:
            task = progress.add_task("Building", total=len(chosen))
            result = build_workbooks(
                schedule, out_dir, chosen, mode, password,
                on_built=lambda b: progress.update(task, advance=1, description=f"Building {b.force}", refresh=True),
                registry=registry_path or default_location(out_dir),
            )
    click.echo(f"{result.summary(schedule)} in {time.perf_counter() - started:.1f}s")


def _registry(path: Path | None) -> Registry | None:
    """The registry given with --registry (which must be one), else the default one if it exists."""
    if path is None:
        return Registry.find(default_location())
    found = Registry.find(path)
    if found is None:
        raise UsageError(f"--registry {path}: no registry of issued blanks there (it has no blanks folder); "
                         "give the xlschedule-registry folder that xlschedule build wrote")
    return found


@dataclass
class Checking:
    """What a check of returns is asked to do, as the ingest and validate commands were given it."""

    command: str
    returns: tuple[Path, ...]
    schedule_path: Path | None
    strict: bool
    open_password: str | None
    db: Path | None = None
    fresh: bool = False
    wait: float = DEFAULT_WAIT
    registry_path: Path | None = None
    outputs: dict[str, Path | None] = field(default_factory=dict)

    def arguments(self) -> dict[str, Any]:
        """For the ledger's record of the run: the password only as given or not."""
        return {
            "returns": [str(p) for p in self.returns], "schedule": self.schedule_path, "strict": self.strict,
            "fresh": self.fresh, "open_password": self.open_password is not None, "db": self.db,
            "registry": self.registry_path, **self.outputs,
        }

    def where_returns_are(self) -> str:
        """Where each return is named with what its application changed: the Returns sheet and the JSON."""
        places = [f"the Returns sheet of {self.outputs['out']}"] if self.outputs.get("out") else []
        if self.outputs.get("report"):
            places.append(f"the JSON report {self.outputs['report']}")
        return " and ".join(places) or "the JSON report that --report FILE writes"

    def where_findings_are(self) -> str:
        places = [f"the Issues sheet of {self.outputs['out']}"] if self.outputs.get("out") else []
        if self.outputs.get("report"):
            places.append(f"the JSON report {self.outputs['report']}")
        if self.db:
            places.append(f"the ledger {self.db} (its issues view)")
        if not places:
            return "the JSON report that --report FILE writes"
        return ", ".join(places[:-1]) + (" and " if len(places) > 1 else "") + places[-1]


@dataclass
class Checked:
    """A check's outcome: the schedule, the report, the answers' rows (from the ledger, when there is one)
    and the registry the returns were judged against."""

    schedule: Schedule
    report: Report
    rows: Rows | None
    registry: Registry | None


@contextmanager
def _checked(job: Checking) -> Iterator[Checked]:
    """Check the returns. With a ledger, the run is recorded in it and committed before anything else is
    written, the answers are not held in memory, and the rows given are read back from the ledger as the
    consolidation asks for them (so memory stays flat in the number of returns)."""
    schedule = load_schedule(job.schedule_path)
    registry = _registry(job.registry_path)
    if job.db is None:
        yield Checked(schedule, _check(job, schedule, None, registry), None, registry)
        return
    with Ledger.open(job.db, job.wait) as ledger:
        with ledger.run(
            schedule, job.command, job.arguments(), fresh=job.fresh, strict=job.strict, keep_responses=False,
        ) as recorder:
            report = _check(job, schedule, recorder, registry)
        run_id = recorder.run_id
        assert run_id is not None  # a finished run has its row
        yield Checked(schedule, report, lambda: ledger.iter_responses(run_id), registry)


def _check(job: Checking, schedule: Schedule, recorder: RunRecorder | None, registry: Registry | None) -> Report:
    with _progress(True) as progress:
        task = progress.add_task("Checking returns", total=None, visible=False)

        def start(total: int) -> None:
            progress.update(task, total=total, visible=total >= PROGRESS_THRESHOLD, refresh=True)

        return ingest_returns(
            list(job.returns), schedule, strict=job.strict, open_password=job.open_password,
            on_start=start, on_file=lambda _path: progress.update(task, advance=1, refresh=True), ledger=recorder,
            registry=registry,
        )


def _finish(report: Report, job: Checking, then: str = "", more: tuple[str, ...] = (),
            failed: tuple[str, ...] = ()) -> NoReturn:
    """A line per return and per finding (up to a bound), a one-line summary, the files' changes, a line per
    output that could not be written, and the exit status: 0 all accepted, 1 not, 2 an output not written."""
    for line in report.lines(rest=job.where_findings_are(), named_in=job.where_returns_are()):
        click.echo(line)
    click.echo(f"{report.summary()}{then}")
    if report.files is not None:
        click.echo(report.files.line())
    for line in more:
        click.echo(line)
    for line in failed:
        click.echo(f"error: {line}", err=True)
    sys.exit(EXIT_USAGE if failed else report.exit_code)


@dataclass
class FeedbackRun:
    """With --feedback: the copies planned for the returns that need attention, and the files not written."""

    folder: Path
    copies: list[Copy]
    failed: tuple[str, ...] = ()

    def write(self, job: Checking, checked: Checked, run_date: date) -> None:
        """Each copy on its own (each re-reads its own file), then feedback.txt."""
        self.failed = tuple(write_copies(self.copies, checked.schedule, self.folder, checked.registry,
                                         job.open_password, run_date))

    def said(self) -> tuple[str, ...]:
        """The line after the summary that says where the feedback copies are."""
        return (feedback_line(self.copies, self.folder),)


def _feedback(checked: Checked, feedback_dir: Path | None, feedback_for: str) -> FeedbackRun | None:
    if feedback_dir is None:
        return None
    return FeedbackRun(feedback_dir, plan_feedback(checked.report.returns, feedback_dir, FeedbackFor(feedback_for)))


RETURNS_ARG = click.argument("returns", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
SCHEDULE_OPT = click.option(
    "--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The schedule the returns were built from. Default: ./schedule.toml, else the bundled one.",
)
STRICT_OPT = click.option("--strict", is_flag=True, help="Reject returns with warnings too.")
OPEN_PASSWORD_OPT = click.option(
    "--open-password", envvar="XLSCHEDULE_OPEN_PASSWORD", show_envvar=True,
    help="Password to open encrypted returns; they are decrypted in memory only.",
)
FRESH_OPT = click.option("--fresh", is_flag=True, help="Read every file again, even those the ledger has judged.")
WAIT_OPT = click.option(
    "--wait", type=click.FloatRange(min=0), default=DEFAULT_WAIT, show_default=True, metavar="SECONDS",
    help="How long to wait for another run that is using the ledger before stopping.",
)
REGISTRY_OPT = click.option(
    "--registry", "registry_path", type=click.Path(file_okay=False, path_type=Path), envvar="XLSCHEDULE_REGISTRY",
    show_envvar=True,
    help="The registry of issued blanks (the xlschedule-registry folder xlschedule build wrote). "
         "Default: output/xlschedule-registry, if there is one.",
)
FEEDBACK_OPT = click.option(
    "--feedback", "feedback_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Write a feedback copy of each return with a finding into this folder (the return in a fresh blank, "
         "each finding listed and marked on its cell), and feedback.txt saying which forces have copies.",
)
FEEDBACK_FOR_OPT = click.option(
    "--feedback-for", type=click.Choice([f.value for f in FeedbackFor]), default=FeedbackFor.ALL.value,
    show_default=True,
    help="With --feedback, which returns get a copy: all (every return with a finding, warnings alone too: a "
         "warning is a gap only the force can fill, and the copy is how it hears of it) or errors (only returns "
         "not accepted; those accepted with warnings alone are listed in feedback.txt, with no copy).",
)
REPORT_OPT = click.option(
    "--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every finding as JSON to this file.",
)


@main.command()
@RETURNS_ARG
@click.option(
    "--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUT, show_default=True, help="The consolidated workbook to write.",
)
@REPORT_OPT
@FEEDBACK_OPT
@FEEDBACK_FOR_OPT
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the Responses table as CSV, for analysts.")
@click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
    help=f"The ledger that records every run (SQLite). Default: {DEFAULT_LEDGER_NAME} beside --out.",
)
@FRESH_OPT
@WAIT_OPT
@STRICT_OPT
@OPEN_PASSWORD_OPT
@SCHEDULE_OPT
@REGISTRY_OPT
def ingest(
    returns: tuple[Path, ...], out_path: Path, report_path: Path | None, feedback_dir: Path | None,
    feedback_for: str, csv_path: Path | None, db_path: Path | None, fresh: bool, wait: float, strict: bool,
    open_password: str | None, schedule_path: Path | None, registry_path: Path | None,
) -> None:
    """Check completed returns and consolidate the accepted ones into one workbook.

    RETURNS are files or folders (every .xlsx inside; Excel's ~$ owner files, and xlschedule's registry,
    feedback folders and temporary files, are skipped with a note).
    Each run is recorded in the ledger, and a file it has already judged is not read again.
    Exit status: 0 all accepted, 1 some rejected (the rest are still consolidated), 2 usage error, a
    ledger that cannot be used (newer, damaged, or held by another run) or a feedback copy not written.

    \b
    Example: xlschedule ingest returns/ --out output/consolidated.xlsx --csv output/responses.csv
    """
    from .consolidate import write_outputs

    with reported():
        db = db_path or default_ledger(out_path)
        for path, option in ((out_path, "--out"), (report_path, "--report"), (csv_path, "--csv"), (db, "--db")):
            prepare_output(path, option)  # each one's folder made if missing, as build makes its --out
        prepare_feedback(feedback_dir)
        swept = sweep_temporaries([out_path, csv_path, report_path], feedback_dir)
        job = Checking("ingest", returns, schedule_path, strict, open_password, db, fresh, wait,
                       registry_path,
                       {"out": out_path, "csv": csv_path, "report": report_path})
        today = date.today()
        with _checked(job) as checked:  # the ledger is committed first: never behind the workbook
            checked.report.notes += swept
            fb = _feedback(checked, feedback_dir, feedback_for)
            try:  # the consolidation, CSV and JSON first: no feedback copy can lose them
                write_outputs(checked.schedule, checked.report, out_path, csv_path, report_path, rows=checked.rows,
                              feedback=None if fb is None else (fb.copies, today))
            finally:
                if fb is not None:
                    fb.write(job, checked, today)
    _finish(checked.report, job, f" Consolidated into {out_path}", fb.said() if fb else (), fb.failed if fb else ())


@main.command()
@RETURNS_ARG
@REPORT_OPT
@FEEDBACK_OPT
@FEEDBACK_FOR_OPT
@click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Record the run in this ledger, and take from it what it has already judged. Default: record nothing.",
)
@FRESH_OPT
@WAIT_OPT
@STRICT_OPT
@OPEN_PASSWORD_OPT
@SCHEDULE_OPT
@REGISTRY_OPT
def validate(
    returns: tuple[Path, ...], report_path: Path | None, feedback_dir: Path | None, feedback_for: str,
    db_path: Path | None, fresh: bool, wait: float, strict: bool, open_password: str | None, schedule_path: Path | None,
    registry_path: Path | None,
) -> None:
    """Check completed returns without writing a consolidation.

    Same checks and exit status as ingest. Nothing is recorded unless --db names a ledger.

    \b
    Example: xlschedule validate returns/Kent-case-12.xlsx
    """
    with reported():
        for path, option in ((report_path, "--report"), (db_path, "--db")):
            prepare_output(path, option)
        prepare_feedback(feedback_dir)
        swept = sweep_temporaries([report_path], feedback_dir)
        job = Checking("validate", returns, schedule_path, strict, open_password, db_path, fresh, wait,
                       registry_path,
                       {"report": report_path})
        with _checked(job) as checked:
            checked.report.notes += swept
            fb = _feedback(checked, feedback_dir, feedback_for)
            try:
                if report_path:
                    checked.report.write_json(report_path)
            finally:
                if fb is not None:
                    fb.write(job, checked, date.today())
    _finish(checked.report, job, more=fb.said() if fb else (), failed=fb.failed if fb else ())


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("samples"),
              show_default=True, help="Folder to write the sample returns into.")
@SCHEDULE_OPT
def samples(out_dir: Path, schedule_path: Path | None) -> None:
    """Write completed sample returns, filled into freshly built blanks (invented evidence).

    Two forces with two returns for one, every scoring mode, and one return with problems.

    \b
    Example: xlschedule samples --out samples && xlschedule ingest samples
    """
    from .samples import make_samples

    with reported():
        written = make_samples(load_schedule(schedule_path), out_dir)
    click.echo(f"Wrote {len(written)} sample returns to {out_dir}")


@main.command()
@RETURNS_ARG
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the upgraded returns into (never the folder they are in).")
@OPEN_PASSWORD_OPT
@click.option(
    "--schedule", "schedule_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The schedule to upgrade the returns to: the fresh blanks are built from it (the returns may be of "
         "any version the registry knows). Default: ./schedule.toml, else the bundled one.",
)
@REGISTRY_OPT
@click.option(
    "--password", envvar="XLSCHEDULE_PASSWORD", show_envvar=True,
    help="Password that protects the fresh blanks, as given to xlschedule build.",
)
def upgrade(
    returns: tuple[Path, ...], out_dir: Path, open_password: str | None, schedule_path: Path | None,
    registry_path: Path | None, password: str | None,
) -> None:
    """Carry returns' answers into fresh blanks of the --schedule given, for the same force and mode.

    Each return is checked as ingest checks it; its answers (cover, scores, policy fit, evidence and
    judgments) are typed into a fresh blank, written to --out under the same name. Each line says what
    carried, what could not (items removed) and what is new to answer. In the upgraded workbook each
    reworded or new item, and each score no longer an option, is marked where it sits (a note and a red
    highlight), and the cover says how many there are to re-check. The returns themselves are never
    changed. Exit status: 0 all upgraded, 1 some could not be, 2 usage error or an upgraded file not
    written (the others still are).

    \b
    Example: xlschedule upgrade returns/Kent-K-001.xlsx --out upgraded
    """
    from .upgrade import upgrade as upgrade_returns

    with reported():
        schedule = load_schedule(schedule_path)
        registry = _registry(registry_path)
        done = upgrade_returns(list(returns), schedule, out_dir, registry, password, open_password)
    for result in done:
        click.echo(result.line(schedule.schedule.version))
    findings = [f for result in done for f in result.ret.findings]
    if findings:
        click.echo("")
        for finding in findings:
            click.echo(finding_line(finding))
    if registry is None:
        click.echo("note: no registry of issued blanks was found, so each return was checked against a blank "
                   "rebuilt from the current schedule; give --registry to upgrade returns of earlier versions")
    upgraded = sum(1 for r in done if r.ok)
    click.echo(f"Upgraded {upgraded} of {len(done)} returns to schedule version {schedule.schedule.version} "
               f"into {out_dir}.")
    sys.exit(EXIT_USAGE if any(r.failed for r in done) else 0 if upgraded == len(done) else 1)
