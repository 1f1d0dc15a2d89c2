"""Opens a returned workbook safely and takes a snapshot of what matters: every non-empty cell, sheet
states and protection. Nothing here judges the content; `checks.py` does.

Before any XML is parsed, the package is vetted from its zip directory and a streaming pass:
encrypted and old .xls files are told apart, decompression bombs refused, entity declarations and
active content (macros, external links, embedded objects) rejected. openpyxl then parses through
defusedxml, checked at start-up. The input file is only ever read.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from .errors import XlscheduleError
from .model import META_SHEET
from .report import Code

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Limits far beyond any real return (a full one is ~40 KB zipped, ~400 KB unzipped), and low enough
# that a hostile file is refused before it costs memory.
MAX_PARTS = 1_000
MAX_PART_BYTES = 32 * 2**20
MAX_TOTAL_BYTES = 64 * 2**20
MAX_RATIO = 100  # uncompressed / compressed, checked on parts over RATIO_FLOOR
RATIO_FLOOR = 2**20
MAX_CELLS_PER_SHEET = 200_000
CHUNK = 2**20

ENTITY_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")

#: Parts that mean active content, by path prefix, with what to call them in a message.
ACTIVE_PARTS = {
    "xl/vbaProject.bin": "macros",
    "xl/macrosheets/": "Excel 4 macro sheets",
    "xl/dialogsheets/": "dialog sheets",
    "xl/externalLinks/": "external links",
    "xl/embeddings/": "embedded objects",
    "xl/activeX/": "ActiveX controls",
    "xl/ctrlProps/": "form controls",
    "xl/connections.xml": "data connections",
    "xl/queryTables/": "query tables",
}


class ReadError(Exception):
    """The file cannot be read as a return; carries the finding's code and its template values."""

    def __init__(self, code: Code, **values: str) -> None:
        super().__init__(code.code)
        self.code = code
        self.values = values


class UnsafeXmlParser(XlscheduleError):
    """openpyxl is not parsing through defusedxml: refusing to read returns at all."""


def ensure_safe_xml() -> None:
    """Checked at start-up: returns are parsed only through defusedxml."""
    import openpyxl
    from openpyxl.xml import functions

    if not openpyxl.DEFUSEDXML or not functions.iterparse.__module__.startswith("defusedxml"):
        raise UnsafeXmlParser(
            "openpyxl is not using defusedxml, so returns could carry XML entity attacks; "
            "reinstall xlschedule (pip install xlschedule) so that defusedxml is installed"
        )


@dataclass(frozen=True)
class CellValue:
    value: Any
    is_formula: bool = False


@dataclass
class SheetSnapshot:
    name: str
    state: str  # visible, hidden, veryHidden
    protected: bool
    cells: dict[str, CellValue] = field(default_factory=dict)


@dataclass
class WorkbookSnapshot:
    sha256: str
    sheets: dict[str, SheetSnapshot]

    def meta(self) -> dict[str, str] | None:
        """The hidden metadata sheet as key -> value, or None when there is none."""
        sheet = self.sheets.get(META_SHEET)
        if sheet is None:
            return None
        keys = {coord[1:]: str(cv.value) for coord, cv in sheet.cells.items() if coord.startswith("A")}
        values = {coord[1:]: str(cv.value) for coord, cv in sheet.cells.items() if coord.startswith("B")}
        return {key: values.get(row, "") for row, key in keys.items()}


# --- vetting the package -------------------------------------------------------------------


def unwrap(data: bytes, open_password: str | None) -> bytes:
    """The zip package inside `data`: as it is, or decrypted in memory. Raises ReadError otherwise."""
    if not data:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="the file is empty")
    if data.startswith(OLE_MAGIC):
        return _decrypt(data, open_password)
    if not data.startswith(b"PK"):
        raise ReadError(Code.NOT_A_WORKBOOK, detail="it is not an .xlsx package; perhaps a CSV or text file renamed")
    return data


def _decrypt(data: bytes, open_password: str | None) -> bytes:
    import olefile
    from msoffcrypto.exceptions import DecryptionError, InvalidKeyError
    from msoffcrypto.format.ooxml import OOXMLFile

    try:
        with olefile.OleFileIO(data) as ole:
            encrypted = ole.exists("EncryptionInfo") and ole.exists("EncryptedPackage")
            is_xls = ole.exists("Workbook") or ole.exists("Book")
    except OSError:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a damaged Office file") from None
    if is_xls:
        raise ReadError(Code.OLD_XLS)
    if not encrypted:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="an Office file that is not a workbook")
    if not open_password:
        raise ReadError(Code.ENCRYPTED)
    out = io.BytesIO()
    try:
        office = OOXMLFile(io.BytesIO(data))
        office.load_key(password=open_password)
        office.decrypt(out)
    except (InvalidKeyError, DecryptionError):
        raise ReadError(Code.WRONG_PASSWORD) from None
    except Exception as exc:  # noqa: BLE001 - msoffcrypto raises assorted errors on damaged files
        raise ReadError(Code.NOT_A_WORKBOOK, detail=f"an encrypted file that cannot be decrypted ({type(exc).__name__})") from None
    return out.getvalue()


def vet_package(zf: zipfile.ZipFile) -> None:
    """Refuse bombs, entity declarations, active content and zips that are not workbooks, before parsing."""
    infos = zf.infolist()
    if len(infos) > MAX_PARTS:
        raise ReadError(Code.TOO_LARGE, detail=f"has {len(infos)} parts")
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a zip file, but not an Excel workbook")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise ReadError(Code.TOO_LARGE, detail=f"would unpack to {total / 2**20:,.0f} MB")
    for info in infos:
        if info.file_size > MAX_PART_BYTES:
            raise ReadError(Code.TOO_LARGE, detail=f"would unpack {info.filename} to {info.file_size / 2**20:,.0f} MB")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ReadError(Code.TOO_LARGE, detail=f"compresses {info.filename} {info.file_size // max(info.compress_size, 1):,} to 1")
    for prefix, what in ACTIVE_PARTS.items():
        hit = next((n for n in sorted(names) if n == prefix or (prefix.endswith("/") and n.startswith(prefix))), None)
        if hit:
            raise ReadError(Code.ACTIVE_CONTENT, what=f"{what} ({hit})")
    for info in infos:
        _stream_part(zf, info)


def _stream_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Inflate one part in chunks (never whole) to scan it: entities, macro content types, cell counts."""
    is_xml = info.filename.endswith((".xml", ".rels"))
    is_sheet = info.filename.startswith("xl/worksheets/") and is_xml
    seen = 0
    cells = 0
    tail = b""
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                seen += len(chunk)
                if seen > MAX_PART_BYTES:
                    raise ReadError(Code.TOO_LARGE, detail=f"unpacks {info.filename} beyond {MAX_PART_BYTES // 2**20} MB")
                if not is_xml:
                    continue
                window = tail + chunk
                if any(marker in window for marker in ENTITY_MARKERS):
                    raise ReadError(Code.UNSAFE_XML, part=info.filename)
                if info.filename == "[Content_Types].xml" and b"macroEnabled" in window:
                    raise ReadError(Code.ACTIVE_CONTENT, what="macros (a macro-enabled workbook)")
                if b'TargetMode="External"' in window and info.filename.startswith("xl/_rels/"):
                    raise ReadError(Code.ACTIVE_CONTENT, what=f"external links ({info.filename})")
                if is_sheet:
                    cells += window.count(b"<c ") - tail.count(b"<c ")
                    if cells > MAX_CELLS_PER_SHEET:
                        raise ReadError(Code.TOO_LARGE, detail=f"has over {MAX_CELLS_PER_SHEET:,} cells in {info.filename}")
                tail = chunk[-16:]
    except ReadError:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError, ValueError) as exc:
        raise ReadError(Code.NOT_A_WORKBOOK, detail=f"a damaged package ({type(exc).__name__} in {info.filename})") from None


# --- reading -------------------------------------------------------------------------------


def snapshot_values(ws) -> dict[str, CellValue]:
    cells: dict[str, CellValue] = {}
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            if value is None:
                continue
            is_formula = cell.data_type == "f"
            if is_formula and not isinstance(value, str):  # array or data-table formula objects
                value = getattr(value, "text", str(value))
            cells[cell.coordinate] = CellValue(value, is_formula)
    return cells


def read_workbook(path: Path, open_password: str | None = None) -> WorkbookSnapshot:
    """Read a return. Raises ReadError (never a library exception) when it cannot be read as one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(Code.NOT_A_WORKBOOK, detail=f"cannot read the file: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    package = unwrap(data, open_password)
    try:
        zf = zipfile.ZipFile(io.BytesIO(package))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a damaged or truncated .xlsx (the zip cannot be opened)") from None
    with zf:
        vet_package(zf)
    return WorkbookSnapshot(sha256=digest, sheets=_parse(package))


def _parse(package: bytes) -> dict[str, SheetSnapshot]:
    from defusedxml.common import DefusedXmlException
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(package), data_only=False, keep_links=False, keep_vba=False)
    except DefusedXmlException:
        raise ReadError(Code.UNSAFE_XML, part="the workbook") from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad file, never a traceback
        raise ReadError(Code.NOT_A_WORKBOOK, detail=f"the workbook cannot be opened ({type(exc).__name__})") from None
    try:
        return {
            ws.title: SheetSnapshot(
                name=ws.title, state=ws.sheet_state, protected=bool(ws.protection.sheet), cells=snapshot_values(ws)
            )
            for ws in wb.worksheets
        }
    finally:
        wb.close()


def as_text(value: Any) -> str:
    """A cell value as the text a person sees: 4.0 -> '4', a date -> '2026-11-26'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
