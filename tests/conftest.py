"""Shared fixtures: the bundled schedule, and workbooks built from it the way a user builds them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from xlschedule.cli import main
from xlschedule.model import Mode, Schedule
from xlschedule.schedule import load_schedule

ROOT = Path(__file__).resolve().parents[1]
SCHEDULE_TOML = ROOT / "schedule.toml"


@pytest.fixture(scope="session")
def schedule() -> Schedule:
    return load_schedule(SCHEDULE_TOML)


def run_cli(*args: str, env: dict[str, str] | None = None):
    """Run the command line in-process, as a user would type it."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


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
def built_all(tmp_path_factory) -> Path:
    """Every force in the default mode, built with no options but --out."""
    folder = tmp_path_factory.mktemp("built-all")
    result = run_cli("build", "--schedule", str(SCHEDULE_TOML), "--out", str(folder))
    assert result.exit_code == 0, result.output
    return folder
