"""Reads `schedule.toml` into the model. Every error names the TOML path and the problem."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
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
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScheduleError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return schedule_from_text(text, source=str(path))


def schedule_from_text(text: str, source: str = "schedule.toml") -> Schedule:
    """A schedule from TOML text, which it keeps (the registry stores it with each blank issued)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScheduleError(f"{source}: not valid TOML: {exc}") from None
    return parse_schedule(data, source=source).with_source(text)


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


def check_history(schedule: Schedule, earlier: Iterable[Schedule], source: str = "schedule.toml") -> None:
    """Refuse a schedule that silently drops a ref an earlier issued version had, or reuses an issued version.

    Every ref of every earlier version of the same schedule must still be asked, or be declared under
    [changes] as renamed or removed: answers given to it are carried by that declaration. Raises
    ScheduleError naming the ref and the earlier version."""
    info = schedule.schedule
    problems: list[str] = []
    for old in earlier:
        if old.schedule.id != info.id or old.fingerprint == schedule.fingerprint:
            continue
        if old.schedule.version == info.version:
            problems.append(
                f"{source}: schedule.version: version {info.version} was already issued with other content; "
                "give this schedule a new version"
            )
            continue
        current = set(schedule.refs)
        declared = set(schedule.changes.renamed) | set(schedule.changes.removed)
        for ref in old.refs:
            if ref not in current and ref not in declared:
                problems.append(
                    f"{source}: changes: ref {ref!r} of version {old.schedule.version}, already issued, is not in this "
                    f"version. Keep the ref, or declare what became of it under [changes]: "
                    f'renamed = {{ "{ref}" = "<its new ref>" }} or removed = ["{ref}"]'
                )
    if problems:
        raise ScheduleError("\n".join(dict.fromkeys(problems)))
