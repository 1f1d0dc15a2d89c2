"""Streams long sheets' rows straight into a saved package, in memory flat in the number of rows.

openpyxl holds every cell of a workbook until it is saved: for a national round's Responses sheet
(hundreds of thousands of rows) that is most of the run's time and memory, and no library that streams
(openpyxl write-only, XlsxWriter's constant_memory) keeps the sheet an Excel table. So openpyxl writes
the workbook with each long sheet's header and a template row (empty cells carrying each column's style;
a second one below it for the style of a code such as [z], where a sheet has codes), and this module
copies its package, putting the streamed rows where the template rows were and fixing what depends on
their number: each sheet's dimension and its table's range. Strings of the columns
that repeat go to the shared-string table; the others are written inline. Every string is text (never
a formula), escaped for XML. The parts written here are validated against the ISO/IEC 29500 schemas
in the tests.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

from .packager import FixedTimeZip, zip_entry
from .read import workbook_sheets

SHARED_STRINGS = "xl/sharedStrings.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
#: Rows joined into one write: big enough to keep calls few, small enough to keep memory flat.
BATCH = 2_000
#: zlib's level for the streamed sheet, the bulk of the package: its fastest, which for a national round's
#: Responses sheet takes a third of the time of the default level (6) and gives a file about a third larger.
LEVEL = 1

#: A row to stream: its values (None for an empty cell) and its height in points (None for the default).
StreamRow = tuple[Sequence[Any], float | None]

#: An XML name's namespace prefix and its colon, or nothing.
_PREFIX = r"(?:[A-Za-z_][\w.-]*:)?"


class SharedStrings:
    """A shared-string table for the streamed rows (openpyxl writes its own strings inline)."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def ref(self, text: str) -> int:
        n = self.index.get(text)
        if n is None:
            n = self.index[text] = len(self.index)
        return n

    def part(self) -> bytes:
        items = "".join(f'<si><t xml:space="preserve">{escape(t)}</t></si>' for t in self.index)
        return f'<sst xmlns="{MAIN_NS}" uniqueCount="{len(self.index)}">{items}</sst>'.encode()


def _declare_shared_strings(name: str, data: bytes) -> bytes:
    """The content type and the workbook's relationship that make the shared-string table part of it, each
    put before its part's closing tag, however the library that wrote the part spaced or prefixed it."""
    if name == "[Content_Types].xml":
        return _before_close(data, "Types", f'Override PartName="/{SHARED_STRINGS}" ContentType="{SST_TYPE}"/>')
    if name == "xl/_rels/workbook.xml.rels":
        return _before_close(data, "Relationships", f'Relationship Id="rIdSharedStrings" Type="{SST_REL}" '
                             'Target="sharedStrings.xml"/>')
    return data


def _before_close(data: bytes, root: str, element: str) -> bytes:
    """`<` + `element` (an empty element's tag after its `<`) put before the closing tag of `root`, with the
    root's namespace prefix, if it has one."""
    closing = list(re.finditer(rf"</({_PREFIX}){root}\s*>".encode(), data))
    if not closing:
        raise ValueError(f"no closing {root} tag in the package")  # every part openpyxl writes has one
    at = closing[-1]
    return data[:at.start()] + b"<" + at.group(1) + element.encode() + data[at.start():]


_ROW_START = re.compile(rf"<{_PREFIX}row[\s/>]")
_SHEET_DATA_END = re.compile(rf"</{_PREFIX}sheetData\s*>")
#: The dimension element, empty or not, whatever its spacing and attributes.
_DIMENSION = re.compile(rf"<({_PREFIX})dimension(?:\s[^>]*)?(?:/>|>\s*</{_PREFIX}dimension\s*>)")


class Template:
    """The placeholder sheet as openpyxl wrote it, split around its last `rows` rows, the template rows:
    each gives the style of each column's cells (by column letter).

    What the rows hold is read by parsing the sheet, and the text is split only at tags, so nothing here
    depends on how the XML library that openpyxl uses (lxml, or the standard library's without it) spaces
    tags, orders attributes or quotes them."""

    def __init__(self, xml: bytes, rows: int = 1) -> None:
        sheet_data = ElementTree.fromstring(xml).find(f"{{{MAIN_NS}}}sheetData")
        if sheet_data is None or len(sheet_data) < rows:
            raise ValueError(f"the sheet has no {rows} template rows")  # openpyxl has written them
        text = xml.decode("utf-8")
        end = _SHEET_DATA_END.search(text)
        starts = [m.start() for m in _ROW_START.finditer(text, 0, end.start() if end else 0)]
        if end is None or len(starts) != len(sheet_data) or not text.startswith("<row", starts[-rows]):
            # Rows are only in sheetData; ours are written without a prefix, so its namespace must be the default.
            raise ValueError("the sheet's rows are not where they were expected")
        start = starts[-rows]
        template_rows = list(sheet_data)[-rows:]
        self.first = int(template_rows[0].get("r", ""))
        self.styles = [{_column(c.get("r", "")): c.get("s", "0") for c in row} for row in template_rows]
        self.head, self.tail = text[:start], text[end.start():]

    def sheet_head(self, last_row: int, last_column: str) -> str:
        """The sheet up to its rows, its dimension the streamed rows' range."""
        found = _DIMENSION.search(self.head)
        if found is None:
            raise ValueError("the sheet has no dimension")  # openpyxl writes one in every sheet
        dimension = f'<{found.group(1)}dimension ref="A1:{last_column}{last_row}"/>'
        return self.head[:found.start()] + dimension + self.head[found.end():]


def _column(ref: str) -> str:
    """The column letters of a cell reference."""
    return ref.rstrip("0123456789")


@dataclass(frozen=True)
class Stream:
    """One sheet's rows to stream into a package: `count` rows of `rows` go where the sheet's template rows
    were, and the table named `table` (whose body is the first template row) is stretched over them.
    `shared` says, per column, which strings go to the shared-string table; `text` makes each string safe
    for a cell (see consolidation.kit.excel_text), once for each string that repeats. A string in `codes`
    (such as [z]) takes its column's style from a second template row, below the first; without codes
    there is one template row."""

    sheet: str
    table: str
    rows: Iterable[StreamRow]
    count: int
    shared: Sequence[bool]
    text: Callable[[str], str] = str
    codes: Collection[str] = ()


def cell_rest(style: str, value: Any, shared: SharedStrings | None) -> str:
    """One cell's XML after `<c r="` and its reference: empty (styled, as the rest of its column), a number, a
    boolean, or a string (shared or inline), never a formula."""
    if value is None:
        return f'" s="{style}"/>'
    if isinstance(value, bool):
        return f'" s="{style}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f'" s="{style}"><v>{value!r}</v></c>'
    if shared is not None:
        return f'" s="{style}" t="s"><v>{shared.ref(value)}</v></c>'
    return f'" s="{style}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>'


def replace_rows(package: bytes, streams: Sequence[Stream], out: IO[bytes]) -> None:
    """Copy `package` into `out` (a seekable file) with each stream's sheet's template rows replaced by its
    rows and its table stretched over them (see Stream). The streamed sheets share one shared-string
    table, numbered in the order their parts come in the package."""
    with zipfile.ZipFile(io.BytesIO(package)) as zin:
        if SHARED_STRINGS in zin.namelist():
            raise ValueError("the package has a shared-string table already")  # openpyxl writes strings inline
        parts = {name: p for name, _state, p in workbook_sheets(zin)}
        placed: dict[str, tuple[Stream, Template, int]] = {}  # part: its stream, template and last row
        for stream in streams:
            template = Template(zin.read(parts[stream.sheet]), 2 if stream.codes else 1)
            placed[parts[stream.sheet]] = stream, template, template.first + max(1, stream.count) - 1
        strings = SharedStrings()
        with FixedTimeZip(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zout:
            for info in zin.infolist():
                name = info.filename
                if name in placed:
                    _write_sheet(zout, name, *placed[name], strings)
                    continue
                data = _declare_shared_strings(name, zin.read(name))
                if name.startswith("xl/tables/"):
                    for stream, template, last in placed.values():
                        if _table_name(data) == stream.table:
                            data = _stretch(data, template.first, last)
                zout.writestr(name, data)
            zout.writestr(SHARED_STRINGS, strings.part())  # last: it holds the streamed rows' strings


def _write_sheet(zout: zipfile.ZipFile, part: str, stream: Stream, template: Template, last: int,
                 strings: SharedStrings) -> None:
    """The stream's sheet, its template rows replaced by the stream's rows."""
    columns = [get_column_letter(c + 1) for c in range(len(stream.shared))]
    styles = [template.styles[0].get(letter, "0") for letter in columns]
    code_styles = [template.styles[-1].get(letter, "0") for letter in columns]
    with zout.open(zip_entry(part, LEVEL), "w", force_zip64=True) as fh:
        fh.write(template.sheet_head(last, columns[-1]).encode("utf-8"))
        cells = Cells(columns, styles, code_styles, stream.codes,
                      [strings if s else None for s in stream.shared], stream.text)
        written = _write_rows(fh, template.first, stream.rows, columns, cells)
        fh.write(template.tail.encode("utf-8"))
    if written != stream.count:
        raise RuntimeError(f"{stream.sheet}: {written} rows streamed where {stream.count} were counted")


class Memo:
    """What `make(column, value)` gives for each cell of a stream of rows, made once for each value that
    repeats: strings of the columns marked as repeating, empty cells, and numbers of those columns (kept
    apart by type, for 1, 1.0 and True are equal as keys but not as cells). Other strings are made each
    time and not kept, so memory stays flat. `make` never gives an empty string."""

    def __init__(self, make: Callable[[int, Any], str], repeats: Sequence[bool]) -> None:
        self.make, self.repeats = make, repeats
        self.known: list[dict[Any, str]] = [{} for _ in repeats]  # strings and None only
        self.numbers: list[dict[tuple[type, Any], str]] = [{} for _ in repeats]
        self.makers = [functools.partial(self.missing, c) for c in range(len(repeats))]

    def row(self, values: Sequence[Any]) -> list[str]:
        """Each cell's piece, in order."""
        return [known.get(value) or make(value) for known, make, value in zip(self.known, self.makers, values)]

    def missing(self, c: int, value: Any) -> str:
        if type(value) is str or value is None:
            piece = self.make(c, value)
            if value is None or self.repeats[c]:
                self.known[c][value] = piece
            return piece
        key = (type(value), value)
        piece = self.numbers[c].get(key) or self.make(c, value)
        if self.repeats[c]:
            self.numbers[c][key] = piece
        return piece


class Cells:
    """Each cell's piece of a row's XML (see _write_rows), by column and value: its column's style, or for a
    string in `codes` its column's code style."""

    def __init__(self, columns: list[str], styles: list[str], code_styles: list[str], codes: Collection[str],
                 shared: list[SharedStrings | None], text: Callable[[str], str]) -> None:
        self.after = [f'<c r="{column}' for column in columns[1:]] + ["</row>"]
        self.styles, self.code_styles, self.codes = styles, code_styles, codes
        self.shared, self.text = shared, text

    def piece(self, c: int, value: Any) -> str:
        style = self.styles[c]
        if type(value) is str:
            if value in self.codes:
                style = self.code_styles[c]
            value = self.text(value)
        return cell_rest(style, value, self.shared[c]) + self.after[c]


def _write_rows(fh: IO[bytes], first: int, rows: Iterable[StreamRow], columns: list[str], cells: Cells) -> int:
    r"""The rows' XML, written a batch at a time; the number of rows.

    A row's XML is its number joined by the pieces between its occurrences: `<row r="` N `"><c r="A` N
    `" s="1" t="s"><v>0</v></c><c r="B` N ... `</row>`. Each piece after the first two is one cell's XML
    after its reference and the next cell's up to its row number: it depends only on the column and the
    value, and every value but the evidence repeats from return to return, so its piece is made once."""
    made = Memo(cells.piece, [s is not None for s in cells.shared])
    opens: dict[float | None, str] = {}
    r = first - 1
    batch: list[str] = []
    for values, height in rows:
        r += 1
        start = opens.get(height)
        if start is None:
            start = opens[height] = (f'" ht="{height:g}" customHeight="1">' if height else '">') + f'<c r="{columns[0]}'
        number = str(r)
        batch.append(f'<row r="{number}{start}{number}{number.join(made.row(values))}')
        if len(batch) >= BATCH:
            fh.write("".join(batch).encode("utf-8"))
            batch.clear()
    fh.write("".join(batch).encode("utf-8"))
    return r - first + 1


def _stretch(table_xml: bytes, first: int, last: int) -> bytes:
    """The table's range (and its filter's) from its header row down to `last`."""
    text = table_xml.decode("utf-8")
    return re.sub(rf"""\bref(\s*=\s*)(["'])([A-Z]+\d+):([A-Z]+){first}\2""",
                  lambda m: f"ref{m.group(1)}{m.group(2)}{m.group(3)}:{m.group(4)}{last}{m.group(2)}",
                  text).encode("utf-8")


def _table_name(table_xml: bytes) -> str | None:
    """A table part's display name, as its XML says it whatever the spacing."""
    return ElementTree.fromstring(table_xml).get("displayName")
