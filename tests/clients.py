"""What real clients write into a return, reproduced from a genuine filled return by the smallest XML change.

Each generator takes the bytes of a good return (filled into a built blank, as tests/test_ingest.make_return
does) and changes only what the client changes; cells are found through xlschedule.layout, never by a
hard-coded address. Nothing is downloaded.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

from xlschedule import layout
from xlschedule.model import COVER_SHEET, META_SHEET
from xlschedule.read import workbook_info

from hostile import add_content_type, encrypt, rezip

#: Transitional namespaces and their ISO/IEC 29500 strict counterparts (Part 1, annex A; what Excel's
#: "Strict Open XML Spreadsheet" writes). The package and content-type namespaces are the same in both.
STRICT_NAMESPACES = {
    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
        b"http://purl.oclc.org/ooxml/officeDocument/relationships",
    b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties":
        b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
    b"http://schemas.openxmlformats.org/drawingml/2006/main": b"http://purl.oclc.org/ooxml/drawingml/main",
}
EXCEL_EPOCH_1904 = date(1904, 1, 1)


def sheet_part(package: bytes, sheet: str) -> str:
    """The part that holds a sheet, as the workbook's relationships say."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return next(part for name, _state, part in workbook_info(zf).sheets if name == sheet)


def read_cell(package: bytes, sheet: str, coord: str) -> bytes:
    """A cell's XML as it is in the package (`<c r="B11" .../>` or `<c r="B11" ...>...</c>`)."""
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        xml = zf.read(sheet_part(package, sheet))
    match = _cell_pattern(coord).search(xml)
    assert match, f"no cell {coord} on {sheet}"
    return match.group(0)


def _cell_pattern(coord: str) -> re.Pattern[bytes]:
    return re.compile(rb'<c r="' + coord.encode() + rb'"(?P<attrs>[^>]*?)(?:/>|>(?P<body>.*?)</c>)', re.S)


def with_cell(package: bytes, sheet: str, coord: str, attrs: str, body: str, style: str | None = None) -> bytes:
    """One cell rewritten as a client writes it: its style kept (unless given), its type and content new."""
    part = sheet_part(package, sheet)

    def rewrite(name: str, data: bytes) -> bytes:
        if name != part:
            return data

        def cell(m: re.Match[bytes]) -> bytes:
            kept = re.search(rb' s="\d+"', m.group("attrs"))
            s = f' s="{style}"'.encode() if style is not None else (kept.group(0) if kept else b"")
            return f'<c r="{coord}"'.encode() + s + attrs.encode() + b">" + body.encode() + b"</c>"

        new, count = _cell_pattern(coord).subn(cell, data, count=1)
        assert count == 1, f"no cell {coord} in {part}"
        return new

    return rezip(package, rewrite)


def excel_serial(day: date, date1904: bool = False) -> int:
    return (day - (EXCEL_EPOCH_1904 if date1904 else layout.EXCEL_EPOCH)).days


# --- item 1: Excel's "Strict Open XML Spreadsheet" --------------------------------------------


def strict(package: bytes, audit_date: date) -> bytes:
    """Every transitional namespace as its strict one, `conformance="strict"` on the workbook, and the date of
    audit as Strict writes dates: an ISO 8601 value in a cell typed `d`."""
    def rewrite(name: str, data: bytes) -> bytes:
        for old, new in STRICT_NAMESPACES.items():
            data = data.replace(old, new)
        if name == "xl/workbook.xml":
            data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
        return data

    dated = with_cell(package, COVER_SHEET, layout.cover_cell("date"), ' t="d"', f"<v>{audit_date}T00:00:00</v>")
    return rezip(dated, rewrite)


# --- items 3 and 4: the date of audit ---------------------------------------------------------


def date_system_1904(package: bytes, audit_date: date, date_style: bool) -> bytes:
    """A 1904-date workbook (Excel for Mac before 2011, or the option set): `date1904="1"`, and the date of
    audit stored as a serial of that system, under its date style or as a bare number (style 0, General)."""
    def rewrite(name: str, data: bytes) -> bytes:
        if name == "xl/workbook.xml":
            data, count = re.subn(rb"<workbookPr\b", b'<workbookPr date1904="1"', data, count=1)
            assert count == 1
        return data

    serial = excel_serial(audit_date, date1904=True)
    dated = with_cell(package, COVER_SHEET, layout.cover_cell("date"), "", f"<v>{serial}</v>",
                      style=None if date_style else "0")
    return rezip(dated, rewrite)


def formula_date(package: bytes, formula: str, shown: date) -> bytes:
    """The date of audit as a formula (`TODAY()`) with the value Excel cached when it saved the file."""
    body = f"<f>{formula}</f><v>{excel_serial(shown)}</v>"
    return with_cell(package, COVER_SHEET, layout.cover_cell("date"), "", body)


# --- items 2 and 5: what an evidence cell can hold --------------------------------------------


def error_value(package: bytes, sheet: str, coord: str, error: str = "#N/A") -> bytes:
    """An error value typed into a cell (Excel stores `#N/A` typed as the error, not as text)."""
    return with_cell(package, sheet, coord, ' t="e"', f"<v>{error}</v>")


RICH_VALUE_PARTS = {
    "xl/metadata.xml": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        b'xmlns:xlrd="http://schemas.microsoft.com/office/spreadsheetml/2017/richdata">'
        b'<metadataTypes count="1"><metadataType name="XLRICHVALUE" minSupportedVersion="120000"/></metadataTypes>'
        b'<futureMetadata name="XLRICHVALUE" count="1"><bk><extLst><ext uri="{3e2802c4-a4d2-4d8b-9148-e3be6c30e623}">'
        b'<xlrd:rvb i="0"/></ext></extLst></bk></futureMetadata>'
        b'<valueMetadata count="1"><bk><rc t="1" v="0"/></bk></valueMetadata></metadata>'
    ),
    "xl/richData/rdrichvalue.xml": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<rvData xmlns="http://schemas.microsoft.com/office/spreadsheetml/2017/richdata" count="1">'
        b'<rv s="0"><v>0</v><v>5</v></rv></rvData>'
    ),
    "xl/richData/richValueRel.xml": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<richValueRels xmlns="http://schemas.microsoft.com/office/spreadsheetml/2022/richvaluerel" '
        b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><rel r:id="rId1"/>'
        b"</richValueRels>"
    ),
    "xl/richData/_rels/richValueRel.xml.rels": (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" '
        b'Target="../media/image1.png"/></Relationships>'
    ),
    "xl/media/image1.png": b"\x89PNG\r\n\x1a\n a photograph of a case file",
}


def picture_in_cell(package: bytes, sheet: str, coord: str) -> bytes:
    """Excel 365's Insert > Picture > Place in Cell: the cell is `#VALUE!` typed `e` with value metadata
    (`vm`) pointing at a rich value that holds the image."""
    pictured = with_cell(package, sheet, coord, ' t="e" vm="1"', "<v>#VALUE!</v>")

    def rewrite(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            data = add_content_type(data, "xl/metadata.xml",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml")
            data = data.replace(b"</Types>", b'<Default Extension="png" ContentType="image/png"/></Types>')
        return data

    return rezip(pictured, rewrite, RICH_VALUE_PARTS)


def typed_boolean(package: bytes, sheet: str, coord: str, value: bool) -> bytes:
    """TRUE or FALSE typed into a cell: Excel stores the boolean (`t="b"`), not the text."""
    return with_cell(package, sheet, coord, ' t="b"', f"<v>{int(value)}</v>")


def windows_text(package: bytes, sheet: str, coord: str, lines: list[str]) -> bytes:
    """Text with Windows line breaks, as Excel writes it: each CR as `_x000D_` (a raw CR would be lost by any
    XML parser), each LF as it is, and a literal `_xHHHH_` with its underscore escaped (`_x005F_`)."""
    body = "_x000D_\n".join(re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", line) for line in lines)
    return with_cell(package, sheet, coord, ' t="inlineStr"', f'<is><t xml:space="preserve">{body}</t></is>')


# --- item 6: saved in a format that is not a plain workbook ----------------------------------


def xlsm_without_macros(package: bytes) -> bytes:
    """Saved as Excel Macro-Enabled Workbook (.xlsm) with no macros: only the main part's content type says so."""
    def rewrite(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            new = data.replace(b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
            assert new != data
            return new
        return data

    return rezip(package, rewrite)


def _rename_ole_entry(ole: bytes, old: str, new: str) -> bytes:
    """Rename one directory entry of a compound file (name: 64 bytes of UTF-16LE, then its length in bytes)."""
    at = ole.find(old.encode("utf-16-le") + b"\0\0")
    assert at >= 0 and at % 128 == 0, f"no directory entry {old!r}"
    name = (new.encode("utf-16-le") + b"\0\0").ljust(64, b"\0")
    length = len(new.encode("utf-16-le")) + 2
    return ole[:at] + name + length.to_bytes(2, "little") + ole[at + 66:]


def label_encrypted(package: bytes) -> bytes:
    """Encrypted by a sensitivity label (rights management): the compound file of an encrypted package, with
    the DRM data space and transform where a password has its strong-encryption ones, and no password
    EncryptionInfo stream (the licence travels in the transform instead)."""
    ole = encrypt(package, "a label's key, not a password")
    ole = _rename_ole_entry(ole, "StrongEncryptionDataSpace", "DRMEncryptedDataSpace")
    ole = _rename_ole_entry(ole, "StrongEncryptionTransform", "DRMEncryptedTransform")
    return _rename_ole_entry(ole, "EncryptionInfo", "\x05SummaryInformation")


# --- item 7: what clients do to the metadata sheet --------------------------------------------


def metadata_sheet_as(package: bytes, state: str | None, structure_locked: bool) -> bytes:
    """The metadata sheet's state as a client saves it (None: no state, i.e. a visible tab, as Gnumeric
    writes; "hidden", as LibreOffice writes), and the workbook's structure lock kept or dropped (both
    Gnumeric and LibreOffice drop it: Gnumeric writes no workbookProtection, LibreOffice an empty one)."""
    def rewrite(name: str, data: bytes) -> bytes:
        if name != "xl/workbook.xml":
            return data
        sheet = re.compile(rb'(<sheet [^>]*name="' + META_SHEET.encode() + rb'"[^>]*?) state="veryHidden"')
        data, count = sheet.subn(rb"\1" + (f' state="{state}"'.encode() if state else b""), data)
        assert count == 1
        if not structure_locked:
            data = re.sub(rb"<workbookProtection[^>]*/>", b"", data)
        return data

    return rezip(package, rewrite)
