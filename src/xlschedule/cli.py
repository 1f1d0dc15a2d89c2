"""The command line: click commands, each a thin call into the library."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from . import __version__
from .build import build as build_workbooks
from .build import resolve_forces
from .errors import OutputError, ScheduleError, UsageError, XlscheduleError
from .model import Mode
from .schedule import load_schedule

#: Exit status for a usage error or a bad schedule.toml (0 success, 1 rejected returns).
EXIT_USAGE = 2
PROGRESS_THRESHOLD = 5

err_console = Console(stderr=True)


def _fail(exc: XlscheduleError) -> None:
    for line in str(exc).splitlines():
        err_console.print(f"[bold red]error:[/] {line}", highlight=False, markup=True, soft_wrap=True)
    sys.exit(EXIT_USAGE if isinstance(exc, (ScheduleError, UsageError, OutputError)) else 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xlschedule")
def main() -> None:
    """Build assessment workbooks from schedule.toml, and consolidate the returns.

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
def build(
    schedule_path: Path | None, mode: str | None, forces: tuple[str, ...], out_dir: Path, password: str | None
) -> None:
    """Build one protected workbook per force.

    Each workbook has a cover, the overall assessment, a sheet per step and leadership; only the
    input cells are unlocked.

    Example: xlschedule build --force "Thames Valley" --force Kent --mode yesno --out output
    """
    started = time.perf_counter()
    try:
        schedule = load_schedule(schedule_path)
        chosen = resolve_forces(schedule, forces) if forces else list(schedule.forces.names)
        the_mode = Mode(mode) if mode else schedule.schedule.default_mode
        show_bar = len(chosen) >= PROGRESS_THRESHOLD
        with Progress(
            TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err_console, disable=not show_bar, transient=True,
        ) as progress:
            task = progress.add_task("Building", total=len(chosen))
            built = build_workbooks(
                schedule, out_dir, chosen, the_mode, password,
                on_built=lambda b: progress.update(task, advance=1, description=f"Building {b.force}"),
            )
    except XlscheduleError as exc:
        _fail(exc)
    elapsed = time.perf_counter() - started
    noun = "workbook" if len(built) == 1 else "workbooks"
    protected = "password-protected" if password else "protected"
    click.echo(
        f"Built {len(built)} {protected} {noun} ({the_mode.value}, schedule {schedule.schedule.id} "
        f"v{schedule.schedule.version}) in {out_dir} in {elapsed:.1f}s"
    )
