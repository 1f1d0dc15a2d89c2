"""The package's exceptions: bad input on one side, failure to write on the other.

The command line turns each into a one-line message and an exit status; nothing here is a traceback.
"""


class XlscheduleError(Exception):
    """Base of every error the tool reports to a person."""


class ScheduleError(XlscheduleError):
    """schedule.toml is missing, unreadable or invalid. The message names the TOML path."""


class UsageError(XlscheduleError):
    """An argument names something that does not exist (a force, a mode)."""


class OutputError(XlscheduleError):
    """A file could not be written where it was asked for."""
