"""The package's exceptions: bad input on one side, failure to write on the other.

The command line turns each into a one-line message and an exit status; nothing here is a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .codes import Code


class XlscheduleError(Exception):
    """Base of every error the tool reports to a person."""


# --- bad input -------------------------------------------------------------------------------


class InputError(XlscheduleError):
    """Something given to the tool is wrong: the schedule, an argument, a returned file."""


class ScheduleError(InputError):
    """schedule.toml is missing, unreadable or invalid. The message names the TOML path."""


class UsageError(InputError):
    """An argument names something that does not exist (a force, a mode)."""


class ReadError(InputError):
    """A returned file cannot be read as a return; carries the finding's code and its template values.

    Never reaches the user as an exception: ingest turns it into a finding on that file."""

    def __init__(self, code: Code, **values: str) -> None:
        super().__init__(code.code)
        self.code = code
        self.values = values

    def __reduce__(self) -> tuple[object, ...]:  # keyword arguments survive a trip between processes
        return (_read_error, (self.code, self.values))


def _read_error(code: Code, values: dict[str, str]) -> ReadError:
    return ReadError(code, **values)


# --- could not write, or cannot run safely ---------------------------------------------------


class OutputError(XlscheduleError):
    """A file could not be written where it was asked for."""


class UnsafeXmlParser(XlscheduleError):
    """openpyxl is not parsing through defusedxml: returns are not read at all."""
