"""Writes workbooks to bytes and files: fixed times so equal workbooks give equal bytes, and atomic renames.

Every module that saves something (blanks, samples, the consolidation, the JSON report) goes through here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import time
import typing
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.writer.excel import ExcelWriter

from .errors import OutputError

#: What excel_text changes: a control character (CR included) or a lone surrogate (a file name that is not
#: UTF-8), or what reads as Excel's escape.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ud800-\udfff]")
#: A carriage return (written raw, XML parsers turn CR LF into LF) and the underscore of a literal `_xHHHH_`
#: (Excel would read it as an escape).
_CR_OR_ESCAPE_LIKE = re.compile(r"\r|_(?=x[0-9A-Fa-f]{4}_)")
#: Excel's escape of one character: `_x`, its code in four hex digits, `_`.
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def excel_text(text: str) -> str:
    """Text for a cell or a note, written whole as Excel writes it: a control character (which XML cannot
    hold, and openpyxl refuses) as Excel's own `_xHHHH_` escape, a carriage return as `_x000D_` (a Windows
    line break becomes `_x000D_` then LF), a literal `_xHHHH_` as `_x005F_xHHHH_` so it stays literal, and a
    file name's bytes that are not UTF-8 as \\xNN (see storable). Every writer of text from a return uses it."""
    if (text.isprintable() or not _CONTROL.search(text)) and ("_x" not in text or not _EXCEL_ESCAPE.search(text)):
        return text  # most text: nothing to escape, found by the quickest scans (a control character is unprintable)
    text = _CR_OR_ESCAPE_LIKE.sub(lambda m: f"_x{ord(m.group()):04X}_", storable(text))
    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def excel_read(text: str) -> str:
    """Text as Excel (and calamine, and so ingest) reads what excel_text wrote: its escapes decoded."""
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


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


#: The longest file name, in bytes, that common file systems allow (ext4, XFS, Btrfs, APFS).
NAME_MAX = 255
#: What mkstemp adds to a temporary file's prefix: eight random characters, and atomic's ending.
_TEMP_TAIL = len("12345678") + len(".tmp")


def fit_name(name: str, ending: str | None = None, limit: int = NAME_MAX) -> str:
    """`name` if it fits in `limit` bytes; else cut short before its `ending` (by default its extension), with
    a digest of the whole name in place of what was cut: the same every time, and two names cut to the same
    start stay apart."""
    raw = os.fsencode(name)
    if len(raw) <= limit:
        return name
    ending = Path(name).suffix if ending is None or not name.endswith(ending) else ending
    tail = f"~{hashlib.sha256(raw).hexdigest()[:12]}{ending}"
    head = name[: len(name) - len(ending)]
    room = limit - len(os.fsencode(tail))
    while head and len(os.fsencode(head)) > room:
        head = head[: max(0, min(len(head) - 1, room))]
    return head + tail


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path` and rename it into place: a reader never sees half a file."""
    with atomic(path) as fh:
        fh.write(data)


#: The name atomic() writes `NAME` through: `.NAME.` + mkstemp's 8 random characters + `.tmp`.
TEMPORARY_NAME = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp", re.DOTALL)
#: A temporary file last changed this long before a run began is stale: its run was stopped (a run that is
#: writing one changes it as it writes).
STALE_AFTER = 60.0


def temporary_for(name: str) -> str | None:
    """The name of the file a temporary file of atomic() was being written for, or None if `name` is not one."""
    match = TEMPORARY_NAME.fullmatch(name)
    return match["name"] if match else None


def remove_stale_temporaries(folder: Path, names: set[str] | None, began: float) -> list[Path]:
    """Remove from `folder` the temporary files atomic() left there for a file in `names` (any, if None), last
    changed STALE_AFTER seconds or more before `began` (a run that was stopped left them). Returns those removed;
    one that cannot be removed is left."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        target = temporary_for(entry.name)
        if target is None or (names is not None and target not in names):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or entry.stat().st_mtime > began - STALE_AFTER:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def sweep_temporaries(outputs: list[Path | None], ours: Path | None = None) -> list[str]:
    """Remove the stale temporary files of `outputs` beside them, and any in the folder `ours` (a --feedback
    folder, which only xlschedule writes). Returns a note for each removed."""
    began = time.time()
    folders: dict[Path, set[str] | None] = {}
    for path in outputs:
        if path is not None:
            names = folders.setdefault(path.parent, set())
            if names is not None:
                names.add(temporary_prefix(path.name)[1:-1])  # the name as its temporary file spells it
    if ours is not None:
        folders[ours] = None
    return [f"removed {path}: a temporary file left by an xlschedule run that was stopped"
            for folder, names in folders.items() for path in remove_stale_temporaries(folder, names, began)]


def temporary_prefix(name: str) -> str:
    """What a temporary file of atomic() for `name` starts with: `.NAME.`, NAME cut so that the whole fits in
    NAME_MAX however long `name` is."""
    return f".{fit_name(name, limit=NAME_MAX - len('..') - _TEMP_TAIL)}."


@contextlib.contextmanager
def atomic(path: Path) -> Iterator[IO[bytes]]:
    """A file to write `path` through, a piece at a time: written beside it (named as TEMPORARY_NAME says, the
    name cut to fit as temporary_prefix says), renamed into place only when the block ends without an error,
    removed otherwise."""
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path.name), suffix=".tmp", dir=path.parent)
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


def prepare_output(path: Path | None, option: str) -> None:
    """Fail before any work if an output file cannot be written where it was asked for. The folder it goes
    in is made if it is missing, as `build --out` makes its folder."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    nearest = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if nearest is not None and not nearest.is_dir():  # (click itself refuses a folder where a file is asked for)
        raise OutputError(f"{option} {path}: {nearest} is a file, not a folder; choose another place")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{option} {path}: cannot create the folder {folder} ({exc.strerror or exc}); "
                          "choose another place") from None
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
        raise cannot_write(path, exc) from None


def cannot_write(path: Path, exc: OSError) -> OutputError:
    """The error for a file that could not be written, naming it and the system's reason."""
    return OutputError(f"{path}: cannot write ({exc.strerror or exc})")


class _Named:
    """A file being written whose writes that fail raise an OutputError naming it."""

    def __init__(self, fh: IO[bytes], path: Path) -> None:
        self._fh, self._path = fh, path

    def write(self, data: bytes) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            raise cannot_write(self._path, exc) from None

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            raise cannot_write(self._path, exc) from None

    def __getattr__(self, name: str) -> Any:  # seek, tell, seekable...: as the file has them
        return getattr(self._fh, name)
