"""Real-client checks with Gnumeric, for pytest: its command-line converter `ssconvert` reads a workbook and
saves it through Gnumeric's own writers, and a value is typed by Gnumeric itself by editing its native file.

    from gnumeric import require_gnumeric, convert, type_cells, XLSX_WRITERS

    def test_something(tmp_path):
        require_gnumeric()                   # skip locally, fail when $CI is set
        convert(src, tmp_path / "out.xlsx", "Gnumeric_Excel:xlsx2")
        xml = to_native(src, tmp_path)       # the workbook as Gnumeric's own XML
        type_cells(xml, {("Cover", "B9"): "K-1"}, out)   # then convert(out, ...) to save it as xlsx

Debian's `gnumeric` package gives ssconvert (apt-get install gnumeric). Where it is missing the tests skip
and say why; under CI (`CI=true`) a missing ssconvert fails them, as for LibreOffice (tests/libreoffice.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

from lxml import etree
from openpyxl.utils.cell import column_index_from_string

from conftest import require

SSCONVERT: str | None = shutil.which("ssconvert")
INSTALL_HINT = "Gnumeric's ssconvert is needed for the Gnumeric real-client tests: apt-get install gnumeric"
#: Gnumeric's two xlsx writers: ECMA-376 1st edition (Excel 2007) and ISO/IEC 29500:2008 (Excel 2010).
XLSX_WRITERS = ("Gnumeric_Excel:xlsx", "Gnumeric_Excel:xlsx2")
NATIVE = "Gnumeric_XmlIO:sax:0"  # Gnumeric's own XML, uncompressed
ODS = "Gnumeric_OpenCalc:odf"
TIMEOUT = 180
GNM = "http://www.gnumeric.org/v10.dtd"
#: Gnumeric's cell value types (ValueType): a float, a string.
FLOAT, STRING = "40", "60"


def unavailable_reason() -> str | None:
    return None if SSCONVERT else f"ssconvert not found on PATH. {INSTALL_HINT}"


def require_gnumeric() -> None:
    """Skip the test if ssconvert is missing -- or fail it when $CI is set."""
    require(unavailable_reason())


def convert(src: Path, dst: Path, exporter: str) -> Path:
    """Open `src` in Gnumeric and save it as `dst` through `exporter` (ssconvert -T)."""
    require_gnumeric()
    assert SSCONVERT is not None
    with tempfile.TemporaryDirectory(prefix="gnumeric-home-") as home:  # its settings stay out of the user's
        env = {**os.environ, "HOME": home}
        done = subprocess.run([SSCONVERT, "-T", exporter, str(src), str(dst)], capture_output=True, text=True,
                              timeout=TIMEOUT, env=env, check=False)
    assert done.returncode == 0 and dst.exists(), f"ssconvert {exporter} failed: {done.stderr[-2000:]}"
    return dst


def to_native(src: Path, folder: Path) -> Path:
    """The workbook as Gnumeric's own (uncompressed XML) file, as if opened and saved in Gnumeric."""
    return convert(src, folder / (src.stem + ".xml"), NATIVE)


def _cell_position(coord: str) -> tuple[str, str]:
    """'B11' -> ('10', '1'): Gnumeric counts rows and columns from 0."""
    letters = coord.rstrip("0123456789")
    return str(int(coord[len(letters):]) - 1), str(column_index_from_string(letters) - 1)


def type_cells(native: Path, values: dict[tuple[str, str], str | int | date], out: Path) -> Path:
    """Type values into cells of a Gnumeric file, as a person typing in Gnumeric stores them: text as a
    string, a number as a float, a date as its serial number (the cell keeps its style, so its date format).
    Writes the file to `out`; save it as xlsx with convert()."""
    tree = etree.parse(str(native), etree.XMLParser(resolve_entities=False, no_network=True))
    sheets = {s.findtext(f"{{{GNM}}}Name"): s for s in tree.getroot().iter(f"{{{GNM}}}Sheet")}
    for (sheet, coord), value in values.items():
        cells = sheets[sheet].find(f"{{{GNM}}}Cells")
        row, col = _cell_position(coord)
        for old in cells.findall(f"{{{GNM}}}Cell[@Row='{row}'][@Col='{col}']"):
            cells.remove(old)
        if isinstance(value, date):
            kind, text = FLOAT, str((value - date(1899, 12, 30)).days)
        elif isinstance(value, int):
            kind, text = FLOAT, str(value)
        else:
            kind, text = STRING, value
        cell = etree.SubElement(cells, f"{{{GNM}}}Cell", Row=row, Col=col, ValueType=kind)
        cell.text = text
    tree.write(str(out), xml_declaration=True, encoding="UTF-8")
    return out
