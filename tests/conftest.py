"""Shared fixtures: the bundled schedule, and workbooks built from it the way a user builds them."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlschedule.build import build_workbook
from xlschedule.cli import main
from xlschedule.model import Mode, Schedule
from xlschedule.packager import workbook_bytes
from xlschedule.schedule import load_schedule

ROOT = Path(__file__).resolve().parents[1]
SCHEDULE_TOML = ROOT / "schedule.toml"
PASSWORD = "s3cret pass"


@pytest.fixture(scope="session")
def schedule() -> Schedule:
    return load_schedule(SCHEDULE_TOML)


def run_cli(*args: str, env: dict[str, str] | None = None):
    """Run the command line in-process, as a user would type it."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


_blanks: dict[tuple[str, str, Mode], bytes] = {}


def blank_bytes(schedule: Schedule, force: str, mode: Mode) -> bytes:
    """A fresh blank's bytes, built once per run for each schedule content, force and mode.

    Returns are filled into a copy loaded from these bytes, so no test can change another's blank."""
    key = (schedule.fingerprint, force, mode)  # the fingerprint covers everything but the force list
    if key not in _blanks:
        _blanks[key] = workbook_bytes(build_workbook(schedule, force, mode))
    return _blanks[key]


def pool_threshold(module) -> int:
    """How many files make a job go to worker processes (the constant may move to xlschedule.parallel)."""
    from xlschedule import parallel

    value = getattr(module, "POOL_THRESHOLD", None)
    return value if value is not None else parallel.POOL_THRESHOLD


def work_in_one_process(monkeypatch, module) -> None:
    """Raise the pool threshold out of reach, wherever it is defined, so the job runs in this process."""
    from xlschedule import parallel

    for where in (module, parallel):
        if hasattr(where, "POOL_THRESHOLD"):
            monkeypatch.setattr(where, "POOL_THRESHOLD", 10**9)


class CountingPool(ProcessPoolExecutor):
    """A process pool that counts how often it was started (patched in as xlschedule.parallel's)."""

    started = 0

    def __init__(self, *args, **kwargs) -> None:
        type(self).started += 1
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[Mode, Path]:
    """One Kent workbook per mode, built through the command line."""
    out: dict[Mode, Path] = {}
    for mode in Mode:
        folder = tmp_path_factory.mktemp(f"built-{mode.value}")
        result = run_cli("build", "--schedule", str(SCHEDULE_TOML), "--mode", mode.value,
                         "--force", "Kent", "--out", str(folder))
        assert result.exit_code == 0, result.output
        out[mode] = folder / "Kent.xlsx"
    return out


@pytest.fixture(scope="session")
def built_with_password(tmp_path_factory) -> Path:
    """Kent in the default mode, protected with PASSWORD given in the environment (hashed once)."""
    folder = tmp_path_factory.mktemp("built-password")
    result = run_cli("build", "--force", "Kent", "--out", str(folder), env={"XLSCHEDULE_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    return folder / "Kent.xlsx"


class BuiltAll:
    """The 43 workbooks of `xlschedule build` typed with no arguments in a folder holding schedule.toml."""

    def __init__(self, folder: Path, output: str, pools_started: int) -> None:
        self.folder, self.output, self.pools_started = folder, output, pools_started


@pytest.fixture(scope="session")
def built_all(tmp_path_factory) -> BuiltAll:
    """Every force in the default mode: `xlschedule build` with no arguments, as in the README.

    Built once for the run; the worker processes it starts are counted."""
    here = tmp_path_factory.mktemp("built-all")
    (here / "schedule.toml").write_bytes(SCHEDULE_TOML.read_bytes())
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(here)
        mp.setattr("xlschedule.parallel.ProcessPoolExecutor", CountingPool)
        CountingPool.started = 0
        result = run_cli("build")
    assert result.exit_code == 0, result.output
    return BuiltAll(here / "output", result.output, CountingPool.started)


def cores() -> int:
    return os.cpu_count() or 1


def under_ci() -> bool:
    """CI sets CI=true: there, what a test needs (a real client, ../shared) must be present."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(reason: str | None) -> None:
    """Nothing when `reason` is None; else skip the test saying why, or fail it under CI."""
    if reason is None:
        return
    if under_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
