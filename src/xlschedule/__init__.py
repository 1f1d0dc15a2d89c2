"""xlschedule: build protected Excel workbooks from an assessment schedule, and consolidate the returns."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xlschedule")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
