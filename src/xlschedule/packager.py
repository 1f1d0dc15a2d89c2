"""Writes workbooks to bytes and files: fixed times so equal workbooks give equal bytes, and atomic renames.

Every module that saves something (blanks, samples, the consolidation, the JSON report) goes through here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import typing
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

from .errors import OutputError

#: A carriage return (written raw, XML parsers turn CR LF into LF) and the underscore of a literal `_xHHHH_`
#: (Excel would read it as an escape).
_CR_OR_ESCAPE_LIKE = re.compile(r"\r|_(?=x[0-9A-Fa-f]{4}_)")


def escape_cr(text: str) -> str:
    """Text for a cell with its carriage returns kept, as Excel writes them: CR as `_x000D_` (a Windows line
    break becomes `_x000D_` then LF), and a literal `_xHHHH_` as `_x005F_xHHHH_` so it stays literal.
    Other control characters are left to the caller (openpyxl refuses them; escape them after this)."""
    return _CR_OR_ESCAPE_LIKE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)

def storable(text: str) -> str:
    """Text that can be written as UTF-8 (to a workbook, CSV, JSON or the ledger). A file name need not be
    UTF-8 (Linux allows any bytes; Python keeps the odd ones as lone surrogates, which no UTF-8 file can
    hold): its odd bytes are written as \\xNN, the same way every time, so runs still recognise the file."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            return os.fsencode(text).decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return text.encode("utf-8", "backslashreplace").decode("utf-8")


def storable_json(value: Any, **options: Any) -> str:
    """json.dumps, non-ASCII kept as it is, with every string storable (a file name among them)."""
    text = json.dumps(value, ensure_ascii=False, default=str, **options)
    if storable(text) is text:
        return text
    return json.dumps(_storable_strings(value), ensure_ascii=False, default=str, **options)


def _storable_strings(value: Any) -> Any:
    if isinstance(value, str | os.PathLike):
        return storable(os.fspath(value))
    if isinstance(value, dict):
        return {_storable_strings(k): _storable_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable_strings(v) for v in value]
    return value


#: Document timestamps and zip entry times, fixed so the same inputs give the same bytes.
FIXED_TIME = datetime(2000, 1, 1, tzinfo=UTC)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def zip_entry(name: str, level: int | None = None) -> zipfile.ZipInfo:
    """A zip entry with the fixed time, compressed (at zlib's `level`, 1 fastest to 9 smallest; by default
    zlib's default, 6), with a normal file's mode."""
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    if level is not None:
        # What ZipFile.open(info, "w") compresses at: `compress_level` from Python 3.13, which keeps this name.
        setattr(info, "_compresslevel", level)  # noqa: B010 (not in the type stubs before 3.13)
    return info


class FixedTimeZip(zipfile.ZipFile):
    """A zip whose every entry has the fixed time and a normal file mode, whenever it is written."""

    def writestr(
        self, zinfo_or_arcname: str | zipfile.ZipInfo, data: Any, compress_type: Any = None, compresslevel: Any = None
    ) -> None:
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = zip_entry(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data)

    def write(
        self, filename: Any, arcname: Any = None, compress_type: Any = None, compresslevel: Any = None
    ) -> None:
        with open(filename, "rb") as fh:  # openpyxl writes each worksheet through a temporary file
            self.writestr(arcname or os.path.basename(filename), fh.read())


def stamp(wb: Workbook, creator: str = "xlschedule") -> None:
    """Fixed document properties: the same content gives the same bytes whenever it is written."""
    props = wb.properties
    props.creator = creator
    props.created = props.modified = FIXED_TIME.replace(tzinfo=None)
    props.lastModifiedBy = None


def workbook_bytes(wb: Workbook) -> bytes:
    """Serialise with fixed document and zip entry times, so equal workbooks give equal bytes.

    openpyxl's own save() stamps the time of saving, so its writer is driven directly."""
    wb.properties.modified = FIXED_TIME.replace(tzinfo=None)
    out = io.BytesIO()
    with FixedTimeZip(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).write_data()
    return out.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path` and rename it into place: a reader never sees half a file."""
    with atomic(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[IO[bytes]]:
    """A file to write `path` through, a piece at a time: written beside it, renamed into place only when
    the block ends without an error, removed otherwise."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as fh:
            yield fh
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_writable(path: Path | None, option: str) -> None:
    """Fail before any work if an output file cannot be written where it was asked for."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():  # (click itself refuses a folder where a file is asked for)
        raise OutputError(f"{option} {path}: the folder {folder} does not exist; create it or choose another")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(f"{option} {path}: not writable; choose another place")


def make_folder(folder: Path, option: str) -> None:
    """Fail before any work if an output folder cannot be made or written; `option` names it for the user."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {folder}: cannot create the folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{option} {folder}: not writable; choose another folder")


def write_output(path: Path, data: bytes) -> None:
    """write_atomic, with a failure to write reported as an OutputError naming the file."""
    with output(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def output(path: Path) -> Iterator[IO[bytes]]:
    """atomic(), with a failure to write reported as an OutputError naming the file.

    Several outputs may be written in one pass (the workbook and the CSV): the file given fails its own
    writes with an error naming it, so the failure is not taken for that of another output open around it."""
    try:
        with atomic(path) as fh:
            yield typing.cast(IO[bytes], _Named(fh, path))
    except OSError as exc:
        raise _cannot_write(path, exc) from None


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


class _Named:
    """A file being written whose writes that fail raise an OutputError naming it."""

    def __init__(self, fh: IO[bytes], path: Path) -> None:
        self._fh, self._path = fh, path

    def write(self, data: bytes) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            raise _cannot_write(self._path, exc) from None

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            raise _cannot_write(self._path, exc) from None

    def __getattr__(self, name: str) -> Any:  # seek, tell, seekable...: as the file has them
        return getattr(self._fh, name)
