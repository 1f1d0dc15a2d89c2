"""Opens a returned workbook safely and takes a snapshot of what matters: every non-empty cell, sheet
states and protection. Nothing here judges the content; `checks.py` does.

Before any XML is parsed, the package is vetted from its zip directory and a streaming pass:
encrypted and old .xls files are told apart, decompression bombs refused, entity declarations and
active content (macros, external links, embedded objects) rejected. Values are then read with
python-calamine, and what it does not give with defusedxml's parser. The input file is only ever read.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import posixpath
import re
import stat
import xml.parsers.expat
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NamedTuple, NoReturn
from xml.parsers.expat import ExpatError

from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import column_index_from_string, get_column_letter

from . import layout
from .codes import Code, save_as_xlsx
from .errors import ReadError, UnsafeXmlParser
from .model import META_SHEET

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
WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
}

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


def ensure_safe_xml() -> None:
    """Checked at start-up: openpyxl parses only through defusedxml (returns themselves are read with
    calamine, defusedxml and an expat parser that refuses entity declarations)."""
    import openpyxl
    from openpyxl.xml import functions

    if not openpyxl.DEFUSEDXML or not functions.iterparse.__module__.startswith("defusedxml"):
        raise UnsafeXmlParser(
            "openpyxl is not using defusedxml, so returns could carry XML entity attacks; "
            "reinstall xlschedule (pip install xlschedule) so that defusedxml is installed"
        )


class CellValue(NamedTuple):  # a tuple: made for every cell of every return, so made cheaply
    value: Any  # a formula's text when is_formula, an error cell's text ("#N/A") when is_error
    is_formula: bool = False
    cached: Any = None  # a formula's value when the file was last saved (None for other cells)
    is_error: bool = False  # an error value: typed (#N/A), or Excel 365's picture placed in a cell
    is_picture: bool = False  # an error cell carrying value metadata: a picture placed in the cell


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
    date1904: bool = False  # serial numbers count days from 1904-01-01 (workbookPr date1904)
    structure_locked: bool = True  # workbookProtection lockStructure
    client: str | None = None  # the application that last saved it, where known: see saved_by

    def meta(self) -> dict[str, str] | None:
        """The hidden metadata sheet as key -> value, or None when there is none."""
        sheet = self.sheets.get(META_SHEET)
        if sheet is None:
            return None
        return layout.meta_from_cells({coord: cv.value for coord, cv in sheet.cells.items()})


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
            package = ole.exists("EncryptedPackage")
            encrypted = package and ole.exists("EncryptionInfo")
            # Rights management (a sensitivity label that encrypts): the package is encrypted under a
            # DRM transform with a licence, not a password, and carries no password EncryptionInfo.
            drm = package and any("DRM" in part for entry in ole.listdir(storages=True) for part in entry)
            is_xls = ole.exists("Workbook") or ole.exists("Book")
    except OSError:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a damaged Office file") from None
    if is_xls:
        raise ReadError(Code.OLD_XLS_FORMAT)
    if drm or (package and not encrypted):
        raise ReadError(Code.LABEL_ENCRYPTED)
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
        raise ReadError(Code.WRONG_OPEN_PASSWORD) from None
    except Exception as exc:  # noqa: BLE001 - msoffcrypto raises assorted errors on damaged files
        detail = f"an encrypted file that cannot be decrypted ({type(exc).__name__})"
        raise ReadError(Code.NOT_A_WORKBOOK, detail=detail) from None
    return out.getvalue()


def vet_package(zf: zipfile.ZipFile) -> dict[str, SheetScan]:
    """Refuse bombs, entity declarations, active content and zips that are not workbooks, before parsing.

    The same streaming pass scans each worksheet part for what calamine does not give (see scan_sheet):
    the scans, by part, so no sheet is parsed twice."""
    infos = zf.infolist()
    if len(infos) > MAX_PARTS:
        raise ReadError(Code.TOO_LARGE, detail=f"has {len(infos)} parts")
    names = {i.filename for i in infos}
    if _is_opendocument(zf, names):
        raise ReadError(Code.OPENDOCUMENT_FORMAT)
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a zip file, but not an Excel workbook")
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise ReadError(Code.TOO_LARGE, detail=f"would unpack to {total / 2**20:,.0f} MB")
    for info in infos:
        if info.file_size > MAX_PART_BYTES:
            raise ReadError(Code.TOO_LARGE, detail=f"would unpack {info.filename} to {info.file_size / 2**20:,.0f} MB")
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            ratio = info.file_size // max(info.compress_size, 1)
            raise ReadError(Code.TOO_LARGE, detail=f"compresses {info.filename} {ratio:,} to 1")
    for prefix, what in ACTIVE_PARTS.items():
        hit = next((n for n in sorted(names) if n == prefix or (prefix.endswith("/") and n.startswith(prefix))), None)
        if hit:
            raise ReadError(Code.ACTIVE_CONTENT, what=f"{what} ({hit})")
    scans = {info.filename: scan for info in infos if (scan := _stream_part(zf, info)) is not None}
    _check_content_types(zf.read("[Content_Types].xml"), names, zf)
    strings, styles = scans.pop(SHARED_STRINGS, None), scans.pop(STYLES, None)
    sheets = {part: scan for part, scan in scans.items() if isinstance(scan, SheetScan)}
    for scan in sheets.values():
        if scan.failure is None:
            scan.failure = _cross_check(scan, strings, styles)  # type: ignore[arg-type]
    return sheets


def _cross_check(scan: SheetScan, strings: StringsScan | None, styles: StylesScan | None) -> Unreadable | None:
    """What a sheet's cells refer to elsewhere must be there, and be read alike by every reader: a shared
    text by its index, a style by its number (Excel calls a file corrupt where either is missing)."""
    pairs = scan.string_pairs
    if scan.strings or pairs:
        indexes = scan.strings
        if pairs and (strings is None or strings.unsure or max(int(i) for _coord, i in pairs) >= strings.count):
            indexes = {coord.decode(): int(index) for coord, index in pairs}  # one is wrong: which
        if strings is None:
            first = next(iter(indexes))
            return Unreadable(f"cell {first} refers to shared text, but the workbook has none", cell=first)
        if strings.failure is not None:
            return strings.failure
        for coord, index in indexes.items():
            if index >= strings.count:
                return Unreadable(f"cell {coord} refers to shared text the workbook does not have", cell=coord)
            if index in strings.unsure:
                return Unreadable(f"cell {coord} {strings.unsure[index]}", cell=coord)
    return _cross_check_styles(scan, styles)


def _cross_check_styles(scan: SheetScan, styles: StylesScan | None) -> Unreadable | None:
    if scan.max_style > 0 and (styles is None or styles.failure is not None or scan.max_style >= styles.count):
        cell = scan.style_cell
        return Unreadable(f"cell {cell} has a style the workbook does not define", cell=cell)
    for coord, style in scan.dates.items():  # LibreOffice, as Excel, shows such a date as its serial number
        if styles is None or not styles.is_date(style):
            return Unreadable(f"cell {coord} holds a date but is not formatted as one, which spreadsheet "
                              "applications read differently", cell=coord)
    return None


def _is_opendocument(zf: zipfile.ZipFile, names: set[str]) -> bool:
    """An OpenDocument spreadsheet (.ods): its first part, `mimetype`, says so in a few bytes."""
    if "mimetype" not in names or zf.getinfo("mimetype").file_size > 100:
        return False
    return zf.read("mimetype").strip() == b"application/vnd.oasis.opendocument.spreadsheet"


def _check_content_types(xml: bytes, names: set[str], zf: zipfile.ZipFile) -> None:
    """Excel will not open a package whose content types it cannot read; nor will we."""
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        declared = list(fromstring(xml))
    except ParseError:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a damaged package ([Content_Types].xml cannot be read)") from None
    overrides = {el.get("PartName", ""): el.get("ContentType", "") for el in declared}
    extensions = {name.rpartition(".")[2].lower() for name in names}
    vba = [  # a VBA project that is really there, whatever its part is called
        el for el in declared if "vbaProject" in el.get("ContentType", "")
        and (el.get("PartName", "").lstrip("/") in names or (el.get("Extension") or "").lower() in extensions)
    ]
    if vba:
        raise ReadError(Code.ACTIVE_CONTENT, what="macros (a VBA project)")
    if any("macroEnabled" in t for t in overrides.values()):
        by, steps = save_as_xlsx(saved_by(zf))
        raise ReadError(Code.MACRO_ENABLED_FORMAT, by=by, steps=steps)  # saved as .xlsm, but no macros in it
    if overrides.get("/xl/workbook.xml") not in WORKBOOK_TYPES:
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a package whose main part is not declared as a workbook")


def _well_formed_checker(namespace_separator: str | None = None) -> xml.parsers.expat.XMLParserType:
    """An expat parser with no handlers: checks well-formedness in constant memory, builds nothing.
    Entity declarations never reach it (the scan refuses them first); should one, it fails."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=namespace_separator)
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_args: object) -> NoReturn:
        raise ReadError(Code.UNSAFE_XML, part="an XML part")

    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    return parser


def _stream_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> PartScan | None:
    """Inflate one part in chunks (never whole) to scan it: entities, macro content types, cell counts;
    a worksheet's scan, which a malformed cell may have cut short (the error is kept on it for later),
    and the shared strings' and styles' scans the worksheets' are checked against."""
    scan = _XmlPartScan(info.filename) if info.filename.endswith((".xml", ".rels")) else None
    seen = 0
    try:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                seen += len(chunk)
                if seen > MAX_PART_BYTES:
                    detail = f"unpacks {info.filename} beyond {MAX_PART_BYTES // 2**20} MB"
                    raise ReadError(Code.TOO_LARGE, detail=detail)
                if scan is not None:
                    scan.feed(chunk, whole=len(chunk) == info.file_size)
            if scan is not None:
                scan.close()
                return scan.scanner.finish() if scan.scanner else None
            return None
    except ExpatError:
        detail = f"a damaged package ({info.filename} is not well-formed XML)"
        raise ReadError(Code.NOT_A_WORKBOOK, detail=detail) from None
    except ReadError:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError, ValueError) as exc:
        detail = f"a damaged package ({type(exc).__name__} in {info.filename})"
        raise ReadError(Code.NOT_A_WORKBOOK, detail=detail) from None


def _maybe_unsure(xml: bytes) -> bool:
    """Whether a text in this XML may start or end with white space without being marked to keep it:
    False is certain (a <t> with other attributes, a prefixed one (whose end tag is </p:t>), or CDATA,
    is a maybe). Each test is one pass at C speed over the bytes; a regex is given a literal to start on."""
    if b"<![CDATA[" in xml or (b"xmlns:" in xml and b":t>" in xml) or OTHER_T.search(xml):
        return True  # (a prefix must be declared in the part, or expat fails it)
    if UNMARKED_START.search(xml):
        return True
    return END_HINT_REVERSED.search(xml[::-1]) is not None and UNMARKED_END.search(xml) is not None


class _XmlPartScan:
    """What the streaming pass looks for in one XML part, chunk by chunk: markers may span two chunks."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_sheet = name.startswith("xl/worksheets/")
        self.is_workbook_rels = name.startswith("xl/_rels/")
        self.cells = 0
        self.tail = b""
        worksheet = self.is_sheet and name.endswith(".xml") and "/_rels/" not in name
        self.scanner: _SheetScanner | _StringsScanner | _StylesScanner | None = (
            _SheetScanner() if worksheet else _StringsScanner() if name == SHARED_STRINGS
            else _StylesScanner() if name == STYLES else None
        )
        self.checker = self.scanner.parser() if self.scanner else _well_formed_checker()

    def feed(self, chunk: bytes, whole: bool = False) -> None:
        """The next chunk of the part (`whole`: the part is this one chunk)."""
        if whole and isinstance(self.scanner, _SheetScanner):
            self.scanner.exact_text = _maybe_unsure(chunk)  # if not, no text's ends need reading
            shared = chunk.count(b't="s"')
            if shared and b"<![CDATA[" not in chunk:
                pairs = SHARED_TEXT_CELL.findall(chunk)
                if len(pairs) == shared:  # every shared-text cell as Excel writes it
                    self.scanner.scan.string_pairs = pairs
        elif whole and isinstance(self.scanner, _StringsScanner) and chunk.count(b"xmlns") == 1 and not (
                _maybe_unsure(chunk)):
            # One namespace (the root's, checked: any other prefix would be unbound) and no text with white
            # space at its ends: the texts are counted in its bytes, and expat only checks it is well-formed.
            self.scanner.counted = chunk.count(b"<si>") + chunk.count(b"<si ") + chunk.count(b"<si/>")
        elif whole and isinstance(self.scanner, _StylesScanner) and not any(
                prefixed in chunk for prefixed in (b":cellXfs", b":xf", b":numFmt")):
            self.scanner.read(chunk)  # expat then only checks the root and that it is well-formed
        window = self.tail + chunk
        if any(marker in window for marker in ENTITY_MARKERS):
            raise ReadError(Code.UNSAFE_XML, part=self.name)
        if self.is_workbook_rels and b'TargetMode="External"' in window:
            raise ReadError(Code.ACTIVE_CONTENT, what=f"external links ({self.name})")
        if self.is_sheet:
            self.cells += window.count(b"<c ") - self.tail.count(b"<c ")
            if self.cells > MAX_CELLS_PER_SHEET:
                raise ReadError(Code.TOO_LARGE, detail=f"has over {MAX_CELLS_PER_SHEET:,} cells in {self.name}")
        self.tail = chunk[-16:]
        self.checker.Parse(chunk, False)

    def close(self) -> None:
        self.checker.Parse(b"", True)


# --- reading -------------------------------------------------------------------------------
#
# Values come from python-calamine (Rust, about 30 times faster than openpyxl here). What calamine
# does not give (formula text, error cells, empty strings, sheet protection, sheet states, the
# cells' span) comes from one pass of expat over each sheet's XML.

#: SpreadsheetML's namespace, and the relationships namespace of r:id: transitional (what Excel saves by
#: default) and ISO/IEC 29500 strict (Excel's "Strict Open XML Spreadsheet"). Both are read as they are.
MAIN_NAMESPACES = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
REL_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
#: Rows x columns a sheet's cells may span: calamine allocates that grid. A form needs a few hundred.
MAX_SPAN = 2_000_000
TEXT_TYPES = {"s", "inlineStr", "str"}
CELL_TYPES = TEXT_TYPES | {"b", "d", "e", "n"}  # ST_CellType, ECMA-376 Part 1, 18.18.11
#: The value of a number cell: an xsd:double as Excel writes one.
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
INFINITE = (float("inf"), float("-inf"))


#: The parts a worksheet's cells refer to (as every writer names them; workbook_info checks the workbook's
#: relationships name these and no others).
SHARED_STRINGS = "xl/sharedStrings.xml"
STYLES = "xl/styles.xml"
#: The attribute xml:space as expat names it, and the characters XML calls white space (not Python's strip()).
XML_SPACE = "http://www.w3.org/XML/1998/namespace}space"
XML_WHITESPACE = " \t\n\r"
#: A cell reference as Excel writes it: column A..XFD, row 1..1048576 (no $, no lower case).
REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
#: Elements that some reader takes for a cell's content by their local name, whatever their namespace.
READ_BY_NAME = frozenset({"row", "c", "v", "f", "is", "t", "r", "si"})
#: A <t> unmarked (no xml:space) whose text starts or ends with white space, a character reference or
#: an entity: found in a part's bytes at C speed, so that a part with none has its texts' ends left
#: unread (the regex starts with a literal: one starting with a character class costs 20 times more).
UNMARKED_START = re.compile(rb"<t>[ \t\r\n&]")
UNMARKED_END = re.compile(rb"<t>[^<]*[ \t\r\n;]</t>")  # backtracks through each text: run on a hint only
END_HINT_REVERSED = re.compile(rb">t/<[ \t\r\n;]")  # a text ending so, found in the reversed bytes
OTHER_T = re.compile(rb'<t (?!xml:space="preserve">)')  # a <t> with attributes other than Excel's one
#: A shared-text cell as Excel writes it, with its index: all of a sheet's, read from its bytes at C speed
#: where every t="s" in it is one of these (no CDATA, which could hold a look-alike).
SHARED_TEXT_CELL = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"(?: s="[0-9]+")? t="s"><v>([0-9]+)</v></c>')
#: The styles part's cell formats and number formats, read from its bytes (see _StylesScanner.read).
CELL_XFS = re.compile(rb"<cellXfs\b[^>]*?(?:/>|>(.*?)</cellXfs>)", re.S)
XF = re.compile(rb"<xf\b([^>]*)>")
NUM_FMT = re.compile(rb"<numFmt\b([^>]*)>")
NUM_FMT_ID = re.compile(rb'\snumFmtId="([^"]*)"')
FORMAT_CODE = re.compile(rb'\sformatCode="([^"]*)"')
UNSURE_TEXT = ("has text with spaces or line breaks at its start or end that are not marked to be kept "
               "(xml:space), which spreadsheet applications read differently")


class Unreadable(ValueError):
    """Why a part cannot be read alike by every reader, in words for the person who sent the return:
    the cell, and what is wrong with it (the cell also given on its own, for the finding to name)."""

    def __init__(self, message: str, cell: str | None = None) -> None:
        super().__init__(message)
        self.cell = cell


@dataclass
class SheetScan:
    formulas: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    pictures: set[str] = field(default_factory=set)  # error cells with value metadata (vm): placed pictures
    texts: set[str] = field(default_factory=set)  # cells typed as text: calamine's '' may be a real ''
    strings: dict[str, int] = field(default_factory=dict)  # shared-text cells: the index of their text
    string_pairs: list[tuple[bytes, bytes]] | None = None  # or all of them, as read from the sheet's bytes
    dates: dict[str, int] = field(default_factory=dict)  # ISO 8601 date cells (t="d", as Strict writes): style
    protected: bool = False
    max_row: int = 0
    max_col: int = 0
    max_style: int = 0
    style_cell: str = ""  # a cell with the highest style number
    failure: ValueError | None = None  # what made the sheet unreadable, found while scanning it


@dataclass
class StringsScan:
    """The shared-strings part: how many texts, and those whose reading is not certain (by index)."""

    count: int = 0
    unsure: dict[int, str] = field(default_factory=dict)
    failure: Unreadable | None = None


@dataclass
class StylesScan:
    count: int = 0  # cell formats (cellXfs): the styles a cell's s= may name
    formats: list[str] = field(default_factory=list)  # each cell format's numFmtId, in order
    codes: dict[str, str] = field(default_factory=dict)  # the workbook's own number formats, by numFmtId
    failure: Unreadable | None = None

    def is_date(self, style: int) -> bool:
        """Whether cells of this style show a date (or time): Excel's built-in date formats, or a date code."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        if style >= len(self.formats) or not self.formats[style].isdigit():
            return False
        number = int(self.formats[style])
        code = self.codes.get(self.formats[style], BUILTIN_FORMATS.get(number, ""))
        return 14 <= number <= 22 or 45 <= number <= 47 or is_date_format(code)


PartScan = SheetScan | StringsScan | StylesScan


@functools.lru_cache(maxsize=2**16)
def _split_ref(ref: str) -> tuple[int, int]:
    """'AB12' -> (12, 28). Cached: every return of a form has the same cells."""
    m = REF.fullmatch(ref)
    if m is None:
        raise Unreadable("a cell has a malformed reference")
    return int(m.group(2)), column_index_from_string(m.group(1))


def scan_sheet(xml: bytes) -> SheetScan:
    """Formulas (shared ones translated as openpyxl does), errors, text cells, protection and span,
    in one pass of expat over the sheet's XML. Entity declarations were refused while vetting the
    package; should one reach this parser, it is refused again."""
    scanner = _SheetScanner()
    scanner.parser().Parse(xml, True)
    scan = scanner.finish()
    if scan.failure:
        raise scan.failure
    return scan


def _namespaced_parser(start: Any) -> xml.parsers.expat.XMLParserType:
    parser = _well_formed_checker(namespace_separator="}")
    parser.buffer_text = True
    parser.StartElementHandler = start
    return parser


def _unsure_text(text: str) -> bool:
    """Text of a <t> not marked xml:space="preserve" that starts or ends with white space: Excel drops
    that space (the W3C rule it follows, and what it shows), openpyxl and LibreOffice keep it, calamine
    drops it from each rich-text run ("Police " "detention" -> "Policedetention"). Excel never writes it."""
    return bool(text) and (text[0] in XML_WHITESPACE or text[-1] in XML_WHITESPACE)


class _SheetScanner:
    """One pass over a sheet's XML: where it is (row, cell, type) and what it has found so far.

    The handlers run for every element of every return, so they stay lean. Expat calls one start handler
    at a time, swapped as the pass moves on: the root (which must be a SpreadsheetML worksheet), then
    what precedes the cells, then the cells, where elements the scan does not look at (an inline string's
    formatting) cost one dictionary lookup. No end handler runs but the one that closes an <f>, <v> or
    <t>, whose text is collected by a list's own append. The end of <sheetData> is not awaited: the
    elements the scan wants after it (sheetProtection) cannot occur inside it, nor cells outside it, in a
    valid sheet. The first malformed cell stops the scan and is kept as its failure; expat goes on
    checking well-formedness.

    What readers (Excel, openpyxl, LibreOffice, calamine) read differently is malformed here: rows and
    cells out of order or given twice, a cell with two values, an element of the sheet's own kind in
    another namespace (or none), text with unmarked surrounding space, a shared-text index that is not a
    plain number."""

    def __init__(self) -> None:
        self.scan = SheetScan()
        self.shared: dict[str, Translator] = {}
        self.root = True
        self.tags: dict[str, str] = {}
        self.row = self.col = 0
        self.coord = ""
        self.cell_type = "n"
        self.held = 0  # what the current cell holds so far: 1 a <v>, 2 an <is>, 4 an <f>
        self.exact_text = True  # whether each text is read to check its ends (see MAYBE_UNSURE_TEXT)
        self.collecting: list[str] | None = None  # the text of the <f>, <v> or <t> being read
        self.collected = ""  # which: "f", "v" or "t"
        self.formula_attrs: dict[str, str] = {}
        self.expat: xml.parsers.expat.XMLParserType | None = None
        self.styles: set[str] = set()  # the style numbers seen (each checked once)
        self.handlers = {"v": self._v, "row": self._row, "f": self._f, "sheetProtection": self._protection}

    def parser(self) -> xml.parsers.expat.XMLParserType:
        """An expat parser that feeds this scanner (and refuses entity declarations)."""
        self.expat = parser = _namespaced_parser(self._root)
        return parser

    def finish(self) -> SheetScan:
        if self.root and self.scan.failure is None:
            self.scan.failure = Unreadable("it is not a SpreadsheetML worksheet")
        return self.scan

    def fail(self, exc: Exception) -> None:
        if not isinstance(exc, Unreadable):
            exc = Unreadable(f"cell {self.coord or 'A1'} cannot be read", cell=self.coord or None)
        self.scan.failure = exc
        assert self.expat is not None
        self.expat.StartElementHandler = self.expat.EndElementHandler = self.expat.CharacterDataHandler = None

    def collect(self, tag: str) -> None:
        assert self.expat is not None
        self.collecting, self.collected = [], tag
        self.expat.CharacterDataHandler = self.collecting.append
        self.expat.EndElementHandler = self._end

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        """The root must be a SpreadsheetML worksheet (Excel would call anything else corrupt)."""
        assert self.expat is not None
        namespace, _, local = name.rpartition("}")
        if namespace not in MAIN_NAMESPACES or local != "worksheet":
            self.fail(Unreadable("it is not a SpreadsheetML worksheet"))
            return
        self.root = False
        self.tags = _TAGS[namespace]
        self.expat.StartElementHandler = self._before_data

    def _before_data(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.tags.get(name)
        if tag == "sheetData":
            assert self.expat is not None
            self.expat.StartElementHandler = self._in_data
        elif tag == "sheetProtection":
            self._protection(attrs)

    def _protection(self, attrs: dict[str, str]) -> None:
        self.scan.protected = attrs.get("sheet", "0").lower() in ("1", "true")

    def _in_data(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.tags.get(name)  # "" for what the scan passes over, None for another namespace's
        try:
            if tag == "c":
                self.cell(attrs)
            elif tag == "t":  # the commonest elements are handled here, the others by their own method
                if self.exact_text and attrs.get(XML_SPACE) != "preserve":
                    self.collect("t")
            elif tag == "is":
                if self.held & 3 or self.cell_type != "inlineStr":
                    raise self._inline_unlike_type()
                self.held |= 2
            elif tag:
                self.handlers[tag](attrs)
            elif tag is None and name.rpartition("}")[2] in READ_BY_NAME:
                where = f"after cell {self.coord}" if self.coord else "before the first cell"
                raise Unreadable(f"it has a cell element in a namespace Excel does not read ({where})")
        except (ValueError, KeyError) as exc:
            self.fail(exc)

    def _inline_unlike_type(self) -> Unreadable:
        if self.held & 3:
            return Unreadable(f"cell {self.coord} holds more than one value", cell=self.coord)
        # readers disagree on what such a cell holds
        return Unreadable(f"cell {self.coord} holds inline text but is not typed as such", cell=self.coord)

    # A cell holds one value, one inline text and one formula at most (self.held: 1, 2, 4): readers pick
    # different ones.
    def _v(self, attrs: dict[str, str]) -> None:
        if self.held & 3:
            raise Unreadable(f"cell {self.coord} holds more than one value", cell=self.coord)
        self.held |= 1
        if self.cell_type == "s":  # the commonest value in a return Excel saved: its own lean path
            if self.scan.string_pairs is not None:
                return  # every index was read from the bytes
            assert self.expat is not None
            self.collecting = []
            self.expat.CharacterDataHandler = self.collecting.append
            self.expat.EndElementHandler = self._index_end
        elif self.cell_type != "str" and self.cell_type != "d":  # read as they are, by every reader
            self.collect("v")

    def _index_end(self, name: str) -> None:
        """The end of a shared-text cell's <v>: its index, plain digits (calamine reads '3.0' or ' 3' as text 0)."""
        if self.tags.get(name) != "v":
            return
        assert self.expat is not None and self.collecting is not None
        text = "".join(self.collecting)
        self.collecting = None
        self.expat.CharacterDataHandler = self.expat.EndElementHandler = None
        if text.isascii() and text.isdigit():
            self.scan.strings[self.coord] = int(text)
        else:
            why = "refers to shared text by a malformed index"
            self.fail(Unreadable(f"cell {self.coord} {why}", cell=self.coord))

    def _f(self, attrs: dict[str, str]) -> None:
        if self.held & 4:
            raise Unreadable(f"cell {self.coord} holds more than one formula", cell=self.coord)
        self.held |= 4
        self.collect("f")
        self.formula_attrs = attrs

    def _row(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        if ref is None:
            row = self.row + 1
        elif not (ref.isascii() and ref.isdigit()) or int(ref) <= self.row:
            raise Unreadable(f"the row after row {self.row} is out of order, given twice or malformed")
        else:
            row = int(ref)
        self.row, self.col = row, 0

    def cell(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        if ref:
            row, col = _split_ref(ref)
            if row != self.row or col <= self.col:
                raise Unreadable(f"cell {ref} is out of order or given twice", cell=ref)
            self.col = col
        else:
            self.col += 1
        self.coord = coord = ref or f"{get_column_letter(self.col)}{self.row}"
        self.held = 0
        scan = self.scan
        if self.row > scan.max_row:
            scan.max_row = self.row
        if self.col > scan.max_col:
            scan.max_col = self.col
        self.cell_type = cell_type = attrs.get("t", "n")
        # Type and style decide how a value reads (a number or a date); readers disagree on a cell
        # whose type or style is malformed, and Excel calls the file corrupt.
        style = attrs.get("s", "0")
        if style not in self.styles:
            if not (style.isascii() and style.isdigit()):
                raise Unreadable(f"cell {coord} has a malformed type or style", cell=coord)
            self.styles.add(style)
            if int(style) > scan.max_style:
                scan.max_style, scan.style_cell = int(style), coord
        if cell_type not in CELL_TYPES:
            raise Unreadable(f"cell {coord} has a malformed type or style", cell=coord)
        if cell_type in TEXT_TYPES:
            scan.texts.add(coord)
        elif cell_type == "d":
            scan.dates[coord] = int(style)
        elif cell_type == "e" and attrs.get("vm"):
            scan.pictures.add(coord)  # Excel 365's "Place in cell" picture: #VALUE! with value metadata

    def _end(self, name: str) -> None:
        """The end of the element being collected (an element inside it, which no valid sheet has, is not)."""
        if self.tags.get(name) != self.collected:
            return
        assert self.expat is not None and self.collecting is not None
        text = "".join(self.collecting)
        self.collecting = None
        self.expat.CharacterDataHandler = self.expat.EndElementHandler = None
        try:
            self._value(self.collected, text)
        except (ValueError, KeyError) as exc:
            self.fail(exc)

    def _value(self, tag: str, text: str) -> None:
        coord, cell_type = self.coord, self.cell_type
        if tag == "t":
            if _unsure_text(text):
                raise Unreadable(f"cell {coord} {UNSURE_TEXT}", cell=coord)
        elif tag == "f":
            self.scan.formulas[coord] = _formula(text, self.formula_attrs, coord, self.shared)
        elif cell_type == "e":
            self.scan.errors[coord] = text
        elif cell_type == "n":
            if text.strip() and (not NUMBER.fullmatch(text) or float(text) in INFINITE):
                # Excel calls such a file corrupt; readers disagree on what the cell holds (calamine drops it,
                # or fails on the whole workbook where the number has spaces around it; 1e400 is infinite
                # to Python, and LibreOffice saves it as INF, which no reader reads back).
                raise Unreadable(f"cell {coord} is a number cell whose value is not a number", cell=coord)
        elif cell_type == "b":
            if text not in ("0", "1"):
                raise Unreadable(f"cell {coord} is a TRUE/FALSE cell whose value is neither", cell=coord)
        elif cell_type == "inlineStr":
            raise Unreadable(f"cell {coord} is typed as inline text but holds a value", cell=coord)


#: The elements the sheet scan looks at, by expat's full name, for each namespace: their local names;
#: "" for those it passes over: an inline text's formatting, and what follows the cells (the end of
#: <sheetData> is not awaited), so that only an element of another namespace costs a closer look.
_PASSED_OVER = (
    "r", "rPr", "rPh", "phoneticPr", "b", "i", "u", "sz", "color", "rFont", "family", "scheme", "strike",
    "vertAlign", "charset", "outline", "shadow", "condense", "extend", "extLst", "ext", "mergeCells", "mergeCell",
    "conditionalFormatting", "cfRule", "formula", "dataValidations", "dataValidation", "formula1", "formula2",
    "printOptions", "pageMargins", "pageSetup", "headerFooter", "oddHeader", "oddFooter", "evenHeader",
    "evenFooter", "firstHeader", "firstFooter", "hyperlinks", "hyperlink", "drawing", "legacyDrawing",
    "tableParts", "tablePart", "rowBreaks", "colBreaks", "brk", "ignoredErrors", "ignoredError", "autoFilter",
)
_TAGS = {ns: {f"{ns}}}{tag}": tag for tag in ("sheetData", "sheetProtection", "row", "c", "v", "f", "is", "t")}
         | {f"{ns}}}{tag}": "" for tag in _PASSED_OVER}
         for ns in MAIN_NAMESPACES}


class _StringsScanner:
    """One pass over the shared-strings part: each text counted, and those whose reading is not certain
    noted by index, so that a cell using one is refused naming the cell."""

    def __init__(self) -> None:
        self.scan = StringsScan()
        self.tags: dict[str, str] = {}
        self.counted: int | None = None  # the texts, when counted in the part's bytes (see _XmlPartScan)
        self.collecting: list[str] | None = None
        self.expat: xml.parsers.expat.XMLParserType | None = None

    def parser(self) -> xml.parsers.expat.XMLParserType:
        self.expat = parser = _namespaced_parser(self._root)
        return parser

    def finish(self) -> StringsScan:
        if not self.tags and self.scan.failure is None:
            self.scan.failure = Unreadable("its shared strings are not SpreadsheetML")
        return self.scan

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        assert self.expat is not None
        namespace, _, local = name.rpartition("}")
        if namespace not in MAIN_NAMESPACES or local != "sst":
            self.scan.failure = Unreadable("its shared strings are not SpreadsheetML")
            self.expat.StartElementHandler = None
            return
        self.tags = {**_TAGS[namespace], f"{namespace}}}si": "si"}
        if self.counted is None:
            self.expat.StartElementHandler = self._start
        else:
            self.scan.count = self.counted
            self.expat.StartElementHandler = None

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self.tags.get(name)
        if tag == "si":
            self.scan.count += 1
        elif tag == "t":
            if attrs.get(XML_SPACE) != "preserve":
                assert self.expat is not None
                self.collecting = []
                self.expat.CharacterDataHandler = self.collecting.append
                self.expat.EndElementHandler = self._end
        elif tag is None and name.rpartition("}")[2] in READ_BY_NAME:
            if name.rpartition("}")[2] == "si":  # every later text's index would differ between readers
                self.scan.failure = Unreadable("its shared strings have an entry in a namespace Excel does not read")
            self.scan.unsure[self.scan.count - 1] = "has shared text in a namespace Excel does not read"

    def _end(self, name: str) -> None:
        if self.tags.get(name) != "t":
            return
        assert self.expat is not None and self.collecting is not None
        if _unsure_text("".join(self.collecting)):
            self.scan.unsure[self.scan.count - 1] = UNSURE_TEXT
        self.collecting = None
        self.expat.CharacterDataHandler = self.expat.EndElementHandler = None


class _StylesScanner:
    """Counts the cell formats (cellXfs) of the styles part: a cell naming one beyond them is refused."""

    def __init__(self) -> None:
        self.scan = StylesScan()
        self.namespace = ""
        self.depth = 0
        self.in_formats = False
        self.from_bytes = False  # the formats were read from the part's bytes (see read)
        self.expat: xml.parsers.expat.XMLParserType | None = None

    def parser(self) -> xml.parsers.expat.XMLParserType:
        self.expat = parser = _namespaced_parser(self._start)
        parser.EndElementHandler = self._end
        return parser

    def read(self, xml: bytes) -> None:
        """The cell formats and number formats from the part's bytes (no prefixed element in them)."""
        from html import unescape

        self.from_bytes = True
        formats = CELL_XFS.search(xml)
        for attrs in XF.findall(formats.group(1) or b"") if formats else []:
            number = NUM_FMT_ID.search(attrs)
            self.scan.formats.append(number.group(1).decode() if number else "0")
        self.scan.count = len(self.scan.formats)
        for attrs in NUM_FMT.findall(xml):
            number, code = NUM_FMT_ID.search(attrs), FORMAT_CODE.search(attrs)
            if number and code:
                self.scan.codes[number.group(1).decode()] = unescape(code.group(1).decode())

    def finish(self) -> StylesScan:
        if not self.namespace and self.scan.failure is None:
            self.scan.failure = Unreadable("its styles are not SpreadsheetML")
        return self.scan

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        namespace, _, local = name.rpartition("}")
        if self.depth == 1:
            if namespace in MAIN_NAMESPACES and local == "styleSheet":
                self.namespace = namespace
            if self.from_bytes:
                assert self.expat is not None
                self.expat.StartElementHandler = self.expat.EndElementHandler = None
        elif namespace == self.namespace and self.depth == 2 and local == "cellXfs":
            self.in_formats = True
        elif self.in_formats and self.depth == 3 and namespace == self.namespace and local == "xf":
            self.scan.count += 1
            self.scan.formats.append(attrs.get("numFmtId", "0"))
        elif self.depth == 3 and namespace == self.namespace and local == "numFmt":
            self.scan.codes[attrs.get("numFmtId", "")] = attrs.get("formatCode", "")

    def _end(self, name: str) -> None:
        if self.depth == 2:
            self.in_formats = False
        self.depth -= 1


def _formula(body: str, attrs: dict[str, str], coord: str, shared: dict[str, Translator]) -> str:
    text = "=" + body
    if attrs.get("t") == "shared":
        si = attrs.get("si", "")
        if si in shared and text == "=":
            return shared[si].translate_formula(coord)
        if text != "=":
            shared[si] = Translator(text, coord)
    return text


@dataclass
class WorkbookInfo:
    """What workbook.xml says: each worksheet's (name, state, part) in order, the date system, the lock."""

    sheets: list[tuple[str, str, str]]
    date1904: bool = False
    structure_locked: bool = False


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def workbook_info(zf: zipfile.ZipFile) -> WorkbookInfo:
    """The worksheets of a transitional or strict workbook, its date system and its structure lock."""
    from defusedxml.ElementTree import fromstring

    targets: dict[str, str] = {}
    related: dict[str, set[str]] = {"sharedStrings": set(), "styles": set()}
    for rel in fromstring(zf.read("xl/_rels/workbook.xml.rels")):
        target = rel.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        targets[rel.get("Id", "")] = path
        related.get(rel.get("Type", "").rpartition("/")[2], set()).add(path)
    # Readers find these parts by relationship (openpyxl, Excel) or by name (calamine): both must agree.
    if related["styles"] - {STYLES} or related["sharedStrings"] ^ ({SHARED_STRINGS} & set(zf.namelist())):
        raise Unreadable("its shared strings or styles are not where every reader looks for them")
    root = fromstring(zf.read("xl/workbook.xml"))
    namespace = root.tag[1:].partition("}")[0] if root.tag.startswith("{") else ""
    if namespace not in MAIN_NAMESPACES:
        raise ValueError("not a SpreadsheetML workbook")
    info = WorkbookInfo(sheets=[])
    for el in root.iter(f"{{{namespace}}}sheet"):
        rid = next((el.get(f"{{{ns}}}id") for ns in REL_NAMESPACES if el.get(f"{{{ns}}}id")), "")
        part = targets.get(rid or "", "")
        if part.startswith("xl/worksheets/"):
            info.sheets.append((el.get("name", ""), el.get("state", "visible"), part))
    names = [name.casefold() for name, _state, _part in info.sheets]
    if len(set(names)) < len(names) or len({part for *_, part in info.sheets}) < len(names):
        raise Unreadable("its list of sheets names one sheet twice (Excel's names ignore case)")
    pr = root.find(f"{{{namespace}}}workbookPr")
    info.date1904 = pr is not None and _true(pr.get("date1904"))
    lock = root.find(f"{{{namespace}}}workbookProtection")
    info.structure_locked = lock is not None and _true(lock.get("lockStructure"))
    return info


def workbook_sheets(zf: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    """(name, state, part) of each worksheet, in workbook order."""
    return workbook_info(zf).sheets


def parse_sheets(package: bytes) -> dict[str, SheetSnapshot]:
    """Every worksheet of a vetted package, by name."""
    return parse_package(package)[1]


def parse_package(
    package: bytes, scans: dict[str, SheetScan] | None = None
) -> tuple[WorkbookInfo, dict[str, SheetSnapshot]]:
    """What workbook.xml says, and every worksheet of a vetted package by name (`scans`: the vetting
    pass's scan of each worksheet part; without them, each sheet is scanned here)."""
    from defusedxml.common import DefusedXmlException
    from python_calamine import CalamineWorkbook

    try:
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            names = set(zf.namelist())
            info = workbook_info(zf)
            parts = [(n, state, p) for n, state, p in info.sheets if p in names]
            by_sheet = {name: _scan_of(name, part, zf, scans) for name, _state, part in parts}
    except DefusedXmlException:
        raise ReadError(Code.UNSAFE_XML, part="the workbook") from None
    except Unreadable as exc:
        raise ReadError(Code.AMBIGUOUS_CONTENT, detail=str(exc)) from None
    except (KeyError, ValueError, SyntaxError, ExpatError, zipfile.BadZipFile) as exc:  # ParseError: SyntaxError
        raise ReadError(Code.NOT_A_WORKBOOK, detail=f"the workbook cannot be opened ({type(exc).__name__})") from None
    for name, scan in by_sheet.items():
        if scan.max_row * scan.max_col > MAX_SPAN:
            raise ReadError(
                Code.TOO_LARGE,
                detail=f"has cells out to row {scan.max_row:,}, column {scan.max_col:,} on sheet '{name}'",
            )
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(package))
        try:
            return info, {name: _snapshot(name, state, by_sheet[name], wb) for name, state, _part in parts}
        finally:
            wb.close()
    except Exception as exc:  # noqa: BLE001 - calamine raises its own errors on damaged files
        raise ReadError(Code.NOT_A_WORKBOOK, detail=f"the workbook cannot be opened ({type(exc).__name__})") from None


def _scan_of(name: str, part: str, zf: zipfile.ZipFile, scans: dict[str, SheetScan] | None) -> SheetScan:
    try:
        if scans is None or part not in scans:
            return scan_sheet(zf.read(part))
        scan = scans[part]
        if scan.failure is not None:
            raise scan.failure
        return scan
    except Unreadable as exc:
        detail = f"on sheet '{name}', {exc}"
        if exc.cell:
            raise ReadError(Code.AMBIGUOUS_CONTENT, detail=detail, sheet=name, cell=exc.cell) from None
        raise ReadError(Code.AMBIGUOUS_CONTENT, detail=detail, sheet=name) from None


def _snapshot(name: str, state: str, scan: SheetScan, wb) -> SheetSnapshot:
    cells: dict[str, CellValue] = {}
    rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    letters = _column_letters(max((len(values) for values in rows), default=0))
    for r, values in enumerate(rows, start=1):
        for letter, value in zip(letters, values):
            if value == "":
                continue
            if type(value) is float and value.is_integer():
                value = int(value)  # calamine reads every number as a float; 4 is 4, as openpyxl reads it
            cells[f"{letter}{r}"] = CellValue(value)
    for coord in scan.texts:
        if coord not in cells:
            cells[coord] = EMPTY_TEXT
    for coord, text in scan.errors.items():
        cells[coord] = CellValue(text, is_error=True, is_picture=coord in scan.pictures)
    for coord, text in scan.formulas.items():
        cached = cells.get(coord)
        cells[coord] = CellValue(text, is_formula=True, cached=None if cached is None else cached.value)
    return SheetSnapshot(name=name, state=state, protected=scan.protected, cells=cells)


#: A text cell holding '' (calamine gives '' for it and for no cell alike).
EMPTY_TEXT = CellValue("")


@functools.lru_cache(maxsize=8)
def _column_letters(count: int) -> list[str]:
    return [get_column_letter(c) for c in range(1, count + 1)]


def file_kind(mode: int) -> str | None:
    """None for a regular file's mode (os.stat's st_mode); else what the file is, in words for a message."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_regular(path: Path) -> bytes:
    """The bytes of the regular file at `path`. Opened without waiting and looked at before reading, so a file
    swapped for a named pipe after it was listed is refused (not-a-file), never waited on."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            kind = file_kind(os.fstat(fh.fileno()).st_mode)
            if kind is not None:
                raise ReadError(Code.NOT_A_FILE, what=kind)
            return fh.read()
    except OSError as exc:
        raise ReadError(Code.UNREADABLE_FILE, detail=exc.strerror or str(exc)) from None


def read_workbook(path: Path, open_password: str | None = None) -> WorkbookSnapshot:
    """Read a return. Raises ReadError (never a library exception) when it cannot be read as one."""
    data = read_regular(path)
    digest = hashlib.sha256(data).hexdigest()
    package = unwrap(data, open_password)
    try:
        zf = zipfile.ZipFile(io.BytesIO(package))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ReadError(Code.NOT_A_WORKBOOK, detail="a damaged or truncated .xlsx (the zip cannot be opened)") from None
    with zf:
        scans = vet_package(zf)
        client = saved_by(zf)
    info, sheets = parse_package(package, scans)
    return WorkbookSnapshot(
        sha256=digest, sheets=sheets, date1904=info.date1904, structure_locked=info.structure_locked, client=client
    )


APP_PART = "docProps/app.xml"
APP_NAMESPACE = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
#: The applications a message can name, by their docProps/app.xml Application: Excel's is "Microsoft Excel" (a
#: library writing "Microsoft Excel Compatible / ..." is not Excel), LibreOffice's begins "LibreOffice/7.6...".
CLIENTS = {"Microsoft Excel": "Excel"}
CLIENT_PREFIXES = {"LibreOffice": "LibreOffice"}


def saved_by(zf: zipfile.ZipFile) -> str | None:
    """The application that saved the package last, Excel or LibreOffice, as its docProps/app.xml names it
    (Application); None for no such part, another application, or a part that cannot be read. Called once the
    package is vetted (entities refused, sizes bounded); the name as written is never quoted in a message."""
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(zf.read(APP_PART))
    except (KeyError, ParseError, zipfile.BadZipFile, zlib.error, OSError, ValueError):
        return None
    el = root.find(f"{{{APP_NAMESPACE}}}Application")
    application = (el.text or "").strip() if el is not None else ""
    if application in CLIENTS:
        return CLIENTS[application]
    return next((client for prefix, client in CLIENT_PREFIXES.items() if application.startswith(prefix)), None)


def as_text(value: Any) -> str:
    """A cell value as the text a person sees: 4.0 -> '4', a date -> '2026-11-26', True -> 'TRUE'."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"  # as Excel shows a typed TRUE, not Python's True
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
