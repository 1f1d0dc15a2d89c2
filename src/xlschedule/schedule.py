"""Reads `schedule.toml` into the model. Every error names the TOML path and the problem."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from .errors import ScheduleError
from .model import Schedule

DEFAULT_NAME = "schedule.toml"


def default_schedule_path() -> Path:
    """`schedule.toml` in the working directory if there is one, else the copy bundled in the package."""
    local = Path.cwd() / DEFAULT_NAME
    if local.is_file():
        return local
    return Path(str(resources.files("xlschedule").joinpath(DEFAULT_NAME)))


def toml_path(loc: tuple[int | str, ...]) -> str:
    """Pydantic's error location as a TOML path: ('steps', 3, 'items', 2) -> 'steps[3].items[2]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def load_schedule(path: Path | str | None = None) -> Schedule:
    """Load and check a schedule. Raises ScheduleError with the file, the TOML path and what is wrong."""
    path = Path(path) if path is not None else default_schedule_path()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScheduleError(f"{path}: cannot read the schedule ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScheduleError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{path}: not valid TOML: {exc}") from None
    return parse_schedule(data, source=str(path))


def parse_schedule(data: dict, source: str = "schedule.toml") -> Schedule:
    try:
        return Schedule.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key; check its spelling against the documented keys"
            lines.append(f"{source}: {toml_path(err['loc'])}: {msg}")
        raise ScheduleError("\n".join(lines)) from None
