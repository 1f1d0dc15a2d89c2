"""A mutation fuzzer over filled returns: seeded random changes to the package and its XML.

Every mutant is ingested through the function the command line uses (check_return). No mutant may end in
a traceback; and every mutant that is accepted must give, at every cell an answer is read from (score,
policy fit, evidence, the cover, the metadata), what openpyxl reads there, judged by the tool's own lenient
rules. A mutant openpyxl cannot open must not be accepted. The seeds are fixed, so CI is deterministic;
the counts are printed (pytest -s) and written to fuzz-counts.json in the test's folder.
"""

from __future__ import annotations

import io
import json
import random
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xlschedule import checks
from xlschedule.ingest import Templates, check_return
from xlschedule.model import META_SHEET, Mode, ReturnStatus
from xlschedule.read import CellValue, SheetSnapshot, WorkbookSnapshot, read_workbook
from xlschedule.schedule import load_schedule

from conftest import SCHEDULE_TOML, run_cli
from hostile import add_content_type
from libreoffice import fill, require_libreoffice
from test_ingest import make_return

Parts = dict[str, bytes]
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT = b"http://purl.oclc.org/ooxml/spreadsheetml/main"
REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL = b"http://purl.oclc.org/ooxml/officeDocument/relationships"
SST = "xl/sharedStrings.xml"
SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
#: A cell element (never <cols>), whole: self-closed or with its content.
CELL = re.compile(rb"<c\b[^>]*?(?:/>|>.*?</c>)", re.S)
ROW = re.compile(rb"<row\b[^>]*?(?:/>|>.*?</row>)", re.S)
TEXT = re.compile(rb"<t\b([^>]*)>(.*?)</t>", re.S)
SEEDS = range(360)  # a few hundred mutants, each one to three mutations of one of the bases
ERROR_CONSTANT = re.compile(r"=#[A-Z0-9/]+[!?]?")


# --- the bases: filled returns as openpyxl writes them (inline strings) and as Excel does (shared strings)


def unzip(data: bytes) -> Parts:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def zipped(parts: Parts) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return out.getvalue()


def shared_strings(parts: Parts) -> Parts:
    """The same return with its text cells in a shared-strings part, as Excel saves it (with xml:space
    where a text has surrounding spaces, and a rich-text run or two, as Excel writes a formatted text)."""
    strings: dict[bytes, int] = {}
    inline = re.compile(rb't="inlineStr"><is>(<t[^>]*>.*?</t>|<t[^>]*/>)</is>', re.S)

    def to_index(m: re.Match[bytes]) -> bytes:
        index = strings.setdefault(m.group(1), len(strings))
        return b't="s"><v>%d</v>' % index

    out = dict(parts)
    for name, data in parts.items():
        if name.startswith("xl/worksheets/sheet"):
            out[name] = inline.sub(to_index, data)
    items = []
    for i, t in enumerate(strings):
        m = TEXT.fullmatch(t)
        body = m.group(2) if m else b""
        words = body.split(b" ")
        if i % 7 == 3 and len(words) > 2:  # a rich text in runs, each keeping its spaces
            runs = [b" ".join(words[:2]) + b" ", b" ".join(words[2:])]
            items.append(b"<si>" + b"".join(b'<r><rPr><b/></rPr><t xml:space="preserve">' + r + b"</t></r>"
                                            for r in runs) + b"</si>")
        else:
            items.append(b'<si><t xml:space="preserve">' + body + b"</t></si>")
    out[SST] = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="' + MAIN
                + b'" count="%d" uniqueCount="%d">' % (len(items), len(items)) + b"".join(items) + b"</sst>")
    out["[Content_Types].xml"] = add_content_type(parts["[Content_Types].xml"], SST, SST_TYPE)
    rels = parts["xl/_rels/workbook.xml.rels"]
    out["xl/_rels/workbook.xml.rels"] = rels.replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Type="' + SST_REL + b'" Target="sharedStrings.xml"/>'
        b"</Relationships>")
    return out


@dataclass
class Base:
    name: str
    parts: Parts
    sheets: dict[str, str]  # sheet name -> part
    targets: dict[str, list[str]] = field(default_factory=dict)  # part -> coordinates worth mutating


def sheet_parts(parts: Parts) -> dict[str, str]:
    from xlschedule.read import workbook_sheets

    with zipfile.ZipFile(io.BytesIO(zipped(parts))) as zf:
        return {name: part for name, _state, part in workbook_sheets(zf)}


@pytest.fixture(scope="module")
def bases(tmp_path_factory, schedule) -> list[Base]:
    return make_bases(tmp_path_factory.mktemp("fuzz-bases"), schedule)


def make_bases(folder: Path, schedule) -> list[Base]:
    """Three filled returns to mutate: as openpyxl writes one, as Excel does (shared strings), a scale one."""
    values = {("1 Initial contact", "E9"): "Police detention", ("Cover", "B10"): "Sgt  Smith"}
    made = [
        ("inline", make_return(folder, schedule, "Kent-fuzz", ref="K-fuzz", values=values), False),
        ("shared", make_return(folder, schedule, "Kent-fuzz", ref="K-fuzz", values=values), True),
        ("scale", make_return(folder, schedule, "Kent-scale", ref="K-scale", mode=Mode.SCALE), True),
    ]
    out = []
    templates = Templates(schedule)
    for name, path, shared in made:
        parts = unzip(path.read_bytes())
        if shared:
            parts = shared_strings(parts)
        base = Base(name, parts, sheet_parts(parts))
        path.write_bytes(zipped(parts))
        ret = check_return(path, schedule, templates)
        assert ret.status is ReturnStatus.ACCEPTED, ret.findings
        for r in ret.responses:
            part = base.sheets[r.sheet]
            cells = [c for c in (r.score_cell, r.policy_cell, r.evidence_cell) if c]
            row = int(r.evidence_cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            cells.append(f"D{row}")  # the note's formula beside the evidence: a locked cell
            base.targets.setdefault(part, []).extend(cells)
        base.targets.setdefault(base.sheets["Cover"], []).extend(["B9", "B10", "B11"])
        base.targets.setdefault(base.sheets[META_SHEET], []).extend(f"B{i}" for i in range(1, 10))
        out.append(base)
    return out


# --- mutations: each takes the parts and a random source, changes one thing, and says what


class Mutant:
    def __init__(self, base: Base, rng: random.Random) -> None:
        self.base, self.rng = base, rng
        self.parts = dict(base.parts)
        self.what: list[str] = []

    def sheet(self) -> str:
        return self.rng.choice(sorted(self.base.targets))

    def cell(self, part: str) -> tuple[re.Match[bytes] | None, str]:
        """A cell element of the part at one of its targets (or any cell), and its coordinate."""
        data = self.parts[part]
        coord = self.rng.choice(self.base.targets[part])
        m = re.search(rb'<c r="' + coord.encode() + rb'"[^>]*?(?:/>|>.*?</c>)', data, re.S)
        if m is None:
            cells = list(CELL.finditer(data))
            if not cells:
                return None, coord
            m = self.rng.choice(cells)
        return m, coord

    def replace(self, part: str, m: re.Match[bytes], new: bytes, what: str) -> None:
        data = self.parts[part]
        self.parts[part] = data[:m.start()] + new + data[m.end():]
        self.what.append(f"{what} in {part}")


def _set_attr(element: bytes, attr: bytes, value: bytes | None) -> bytes:
    head_end = element.index(b">")
    head, rest = element[:head_end], element[head_end:]
    head = re.sub(rb"\s" + attr + rb'="[^"]*"', b"", head)
    if head.endswith(b"/"):
        head = head[:-1]
        rest = b"/" + rest
    if value is not None:
        head += b" " + attr + b'="' + value + b'"'
    return head + rest


def m_cell_type(mt: Mutant) -> None:
    part = mt.sheet()
    m, _ = mt.cell(part)
    if m is None:
        return
    t = mt.rng.choice([b"s", b"inlineStr", b"str", b"n", b"b", b"e", b"d", b"", b"S", b"x", None])
    mt.replace(part, m, _set_attr(m.group(0), b"t", t), f"t={t!r}")


def m_shared_index(mt: Mutant) -> None:
    for part in sorted(mt.base.targets):
        cells = [m for m in CELL.finditer(mt.parts[part]) if b't="s"' in m.group(0)]
        if cells:
            break
    else:
        return
    part = mt.rng.choice([p for p in sorted(mt.base.targets) if b't="s"' in mt.parts[p]])
    cells = [m for m in CELL.finditer(mt.parts[part]) if b't="s"' in m.group(0)]
    m = mt.rng.choice(cells)
    v = re.search(rb"<v>(\d+)</v>", m.group(0))
    if v is None:
        return
    n = v.group(1)
    new = mt.rng.choice([n + b".0", b" " + n, n + b" ", b"\t" + n, n + b"\t", b"-1", b"99999999", b"0x" + n,
                         b"+" + n, b"0" + n, b"1e0", b"", b"\n" + n + b"\n", b"3", b"%d" % (int(n) + 1)])
    mt.replace(part, m, m.group(0).replace(v.group(0), b"<v>" + new + b"</v>"), f"shared index {n!r}->{new!r}")


def m_duplicate_cell(mt: Mutant) -> None:
    part = mt.sheet()
    m, _ = mt.cell(part)
    if m is None:
        return
    cell = m.group(0)
    how = mt.rng.randrange(3)
    if how == 0:
        mt.replace(part, m, cell + cell, "a cell twice")
    else:  # another cell's content moved in under this cell's reference (evidence into a locked formula cell)
        others = list(CELL.finditer(mt.parts[part]))
        other = mt.rng.choice(others).group(0)
        ref = re.search(rb'r="[^"]*"', cell)
        moved = re.sub(rb'r="[^"]*"', ref.group(0), other, count=1) if ref else other
        new = cell + moved if how == 1 else moved + cell
        mt.replace(part, m, new, "another cell's content under this reference")


def m_move_cell(mt: Mutant) -> None:
    part = mt.sheet()
    m, coord = mt.cell(part)
    if m is None:
        return
    letters = coord.rstrip("0123456789")
    row = int(coord[len(letters):])
    new = mt.rng.choice([f"{letters}{row + 1}", f"{letters}{max(row - 1, 1)}", f"{chr(ord(letters[0]) + 1)}{row}",
                         f"A{row}", coord.lower(), f"${letters}${row}", "", f"{letters}0", f"{letters}{row}x"])
    mt.replace(part, m, _set_attr(m.group(0), b"r", new.encode() if new else None), f"cell {coord} -> {new!r}")


def m_row(mt: Mutant) -> None:
    part = mt.sheet()
    rows = list(ROW.finditer(mt.parts[part]))
    if not rows:
        return
    m = mt.rng.choice(rows)
    row = m.group(0)
    how = mt.rng.randrange(4)
    if how == 0:
        mt.replace(part, m, row + row, "a row twice")
    elif how == 1:
        r = re.search(rb'<row r="(\d+)"', row)
        n = int(r.group(1)) if r else 1
        mt.replace(part, m, _set_attr(row, b"r", b"%d" % (n + mt.rng.choice([-1, 1, 2]))), "row renumbered")
    elif how == 2:
        mt.replace(part, m, _set_attr(row, b"r", None), "row without r")
    else:
        other = mt.rng.choice(rows)
        if other.start() < m.start():
            data = mt.parts[part]
            mt.parts[part] = data[:other.start()] + row + data[other.start():m.start()] + data[m.end():]
            mt.what.append(f"row moved earlier in {part}")


def m_attributes(mt: Mutant) -> None:
    part = mt.sheet()
    m, _ = mt.cell(part)
    if m is None:
        return
    s = mt.rng.choice([b"abc", b"-1", b"999", b" 1", b"1.0", b"", b"0", b"2", None])
    mt.replace(part, m, _set_attr(m.group(0), b"s", s), f"s={s!r}")


def m_namespace(mt: Mutant) -> None:
    how = mt.rng.randrange(6)
    part = mt.sheet()
    if how == 0:
        m, _ = mt.cell(part)
        if m is None:
            return
        cell = m.group(0)
        foreign = re.sub(rb"<(/?)(c|is|t|v|f)\b", rb"<\1x:\2", cell)
        foreign = foreign.replace(b"<x:c ", b'<x:c xmlns:x="urn:example:foreign" ', 1)
        mt.replace(part, m, foreign, "a cell in a foreign namespace")
    elif how == 1 and SST in mt.parts:
        mt.parts[SST] = mt.parts[SST].replace(b' xmlns="' + MAIN + b'"', b"", 1)
        mt.what.append("sharedStrings without its namespace")
    elif how == 2:  # the whole package in the strict namespace: the same workbook as Excel's Strict writes it
        for name, data in mt.parts.items():
            if name.endswith((".xml", ".rels")):
                mt.parts[name] = data.replace(MAIN, STRICT).replace(REL, STRICT_REL)
        mt.what.append("strict namespace throughout")
    elif how == 3:
        m, _ = mt.cell(part)
        if m is None:
            return
        cell = m.group(0).replace(b"<c ", b'<c xmlns="' + STRICT + b'" ', 1)
        mt.replace(part, m, cell, "one cell in the strict namespace")
    elif how == 4:
        m, _ = mt.cell(part)
        if m is None:
            return
        cell = m.group(0).replace(b"<c ", b'<c xmlns="" ', 1)
        mt.replace(part, m, cell, "one cell in no namespace")
    else:
        where = SST if SST in mt.parts and mt.rng.random() < 0.5 else part
        texts = list(TEXT.finditer(mt.parts[where]))
        if not texts:
            return
        t = mt.rng.choice(texts)
        new = b'<y:t xmlns:y="urn:example:foreign"' + t.group(1) + b">" + t.group(2) + b"</y:t>"
        mt.replace(where, t, new, "a text in a foreign namespace")


def m_whitespace(mt: Mutant) -> None:
    where = SST if SST in mt.parts and mt.rng.random() < 0.5 else mt.sheet()
    data = mt.parts[where]
    how = mt.rng.randrange(6)
    if how < 3:
        texts = list(TEXT.finditer(data))
        if not texts:
            return
        t = mt.rng.choice(texts)
        attrs, body = t.group(1), t.group(2)
        pad = mt.rng.choice([b" ", b"  ", b"\t", b"\n", b"\r\n", b"&#32;", b" \n "])
        body = {0: pad + body, 1: body + pad, 2: pad + body + pad}[mt.rng.randrange(3)]
        if how == 0:
            attrs = re.sub(rb'\s*xml:space="[^"]*"', b"", attrs)
        elif how == 1:
            attrs = b' xml:space="' + mt.rng.choice([b"preserve", b"default", b"PRESERVE", b""]) + b'"'
        mt.replace(where, t, b"<t" + attrs + b">" + body + b"</t>", f"whitespace in a text, attrs {attrs!r}")
    elif how == 3:
        vs = list(re.finditer(rb"<v>([^<]*)</v>", data))
        if not vs:
            return
        v = mt.rng.choice(vs)
        pad = mt.rng.choice([b" ", b"\t", b"\n"])
        mt.replace(where, v, b"<v>" + pad + v.group(1) + pad + b"</v>", "whitespace around a value")
    elif how == 4:
        texts = list(TEXT.finditer(data))
        if not texts:
            return
        t = mt.rng.choice(texts)
        attrs = re.sub(rb'\s*xml:space="[^"]*"', b"", t.group(1))
        mt.replace(where, t, b"<t" + attrs + b">" + t.group(2) + b"</t>", "xml:space dropped")
    else:  # whitespace between elements, as a pretty-printer writes it
        mt.parts[where] = re.sub(rb"><(c|v|is|row|t|si|r)\b", rb">\n  <\1", data, count=50)
        mt.what.append(f"indented {where}")


def m_value_and_inline(mt: Mutant) -> None:
    part = mt.sheet()
    m, _ = mt.cell(part)
    if m is None:
        return
    cell = m.group(0)
    head = cell[:cell.index(b">") + 1].rstrip(b"/>").rstrip(b"/") + b">"
    head = _set_attr(head, b"t", mt.rng.choice([b"inlineStr", b"s", b"str", None]))
    body = mt.rng.choice([b"<v>0</v><is><t>Injected</t></is>", b"<is><t>Injected</t></is><v>1</v>",
                          b"<v>Injected</v>", b"<is><t>One</t></is><is><t>Two</t></is>", b"<v>0</v><v>1</v>"])
    mt.replace(part, m, head + body + b"</c>", f"cell given {body!r}")


def m_workbook_sheets(mt: Mutant) -> None:
    data = mt.parts["xl/workbook.xml"]
    sheets = list(re.finditer(rb"<sheet [^>]*/>", data))
    m = mt.rng.choice(sheets)
    how = mt.rng.randrange(5)
    if how == 0:
        new = m.group(0) + m.group(0)
        what = "a sheet entry twice"
    elif how == 1:
        other = mt.rng.choice(sheets).group(0)
        new = m.group(0) + re.sub(rb'name="[^"]*"', re.search(rb'name="[^"]*"', m.group(0)).group(0), other)
        what = "two entries with one name"
    elif how == 2:
        new = re.sub(rb'name="([^"]*)"', lambda n: b'name="' + n.group(1) + b' "', m.group(0))
        what = "a sheet name with a trailing space"
    elif how == 3:
        new = re.sub(rb'name="([^"]*)"', lambda n: b'name="' + n.group(1).upper() + b'"', m.group(0))
        what = "a sheet name in capitals"
    else:
        first = sheets[0]
        mt.parts["xl/workbook.xml"] = data[:first.start()] + m.group(0) + data[first.start():m.start()] + data[m.end():]
        mt.what.append("sheet entries reordered")
        return
    mt.replace("xl/workbook.xml", m, new, what)


def m_metadata(mt: Mutant) -> None:
    part = mt.base.sheets[META_SHEET]
    where = SST if SST in mt.parts and b't="s"' in mt.parts[part] else part
    data = mt.parts[where]
    texts = list(TEXT.finditer(data))
    t = mt.rng.choice(texts)
    pad = mt.rng.choice([b" ", b"\t", b"\xc2\xa0", b"\n"])
    attrs = t.group(1) if mt.rng.random() < 0.5 else b' xml:space="preserve"'
    mt.replace(where, t, b"<t" + attrs + b">" + t.group(2) + pad + b"</t>", "metadata text with a trailing space")


def m_retype(mt: Mutant) -> None:
    """An answer written another way a writer may write it: inline text as a plain string cell, a number
    as text or text as a number, TRUE/FALSE, an empty text, rich-text runs."""
    part = mt.sheet()
    m, _ = mt.cell(part)
    if m is None:
        return
    cell = m.group(0)
    head = _set_attr(cell[:cell.index(b">") + 1].rstrip(b"/>").rstrip(b"/") + b">", b"t", None)
    head = head[:-1] if head.endswith(b">") else head
    text = TEXT.search(cell)
    body = text.group(2) if text else b"4"
    choices = [
        b' t="str"><v>' + body + b"</v></c>",
        b' t="inlineStr"><is><t>' + body.strip() + b"</t></is></c>",
        b' t="inlineStr"><is><r><t>' + body[:3] + b'</t></r><r><rPr><i/></rPr><t xml:space="preserve">' + body[3:]
        + b"</t></r></is></c>",
        b"><v>" + mt.rng.choice([b"4", b"4.0", b"4E0", b"-0", b"1e400", b"45962", b".5"]) + b"</v></c>",
        b' t="b"><v>' + mt.rng.choice([b"1", b"0", b"true", b"2"]) + b"</v></c>",
        b' t="inlineStr"><is><t/></is></c>',
        b' t="e"><v>#N/A</v></c>',
        b' t="d"><v>2026-11-03T00:00:00</v></c>',
    ]
    new = head + mt.rng.choice(choices)
    mt.replace(part, m, new, f"cell rewritten as {new[:60]!r}")


def m_benign(mt: Mutant) -> None:
    """A change no reader should read differently: what other writers do."""
    how = mt.rng.randrange(4)
    part = mt.sheet()
    data = mt.parts[part]
    if how == 0:  # cell references left out (each cell is then the next one along its row)
        rows = list(ROW.finditer(data))
        row = mt.rng.choice(rows)
        cells = re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", row.group(0))
        if re.search(rb'<c [^>]*r="A', row.group(0)) and len(CELL.findall(row.group(0))) == len(
                re.findall(rb'<c r="', row.group(0))) and _contiguous(row.group(0)):
            mt.replace(part, row, cells, "cell references left out of a row")
    elif how == 1:
        mt.parts[part] = re.sub(rb"<t>", b'<t xml:space="preserve">', data)
        mt.what.append(f"xml:space=preserve on every text of {part}")
    elif how == 2:
        mt.parts[part] = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n' + data
        mt.what.append(f"an XML declaration on {part}")
    else:
        root = b'<worksheet xmlns="' + MAIN + b'"'
        data = data.replace(root, b'<x:worksheet xmlns:x="' + MAIN + b'"').replace(b"</worksheet>", b"</x:worksheet>")
        mt.parts[part] = data
        mt.parts[part] = re.sub(rb"<(/?)(?!x:)([A-Za-z]+)([ />])", rb"<\1x:\2\3", mt.parts[part])
        mt.what.append(f"a namespace prefix throughout {part}")


def _contiguous(row: bytes) -> bool:
    from openpyxl.utils.cell import column_index_from_string

    cols = [column_index_from_string(c.decode()) for c in re.findall(rb'<c r="([A-Z]+)\d+"', row)]
    return cols == list(range(1, len(cols) + 1))


MUTATIONS: list[Callable[[Mutant], None]] = [
    m_cell_type, m_shared_index, m_duplicate_cell, m_move_cell, m_row, m_attributes, m_namespace,
    m_whitespace, m_value_and_inline, m_workbook_sheets, m_metadata, m_retype, m_retype, m_benign, m_benign,
]


def mutant(bases: list[Base], seed: int) -> Mutant:
    rng = random.Random(seed)
    mt = Mutant(bases[seed % len(bases)], rng)
    for _ in range(rng.choice([1, 1, 1, 1, 2, 3])):
        rng.choice(MUTATIONS)(mt)
    return mt


# --- the independent reading: openpyxl's, through the tool's own lenient rules


def openpyxl_snapshot(data: bytes) -> WorkbookSnapshot:
    """What openpyxl reads in a package (a strict one read as the transitional it maps to), as a snapshot."""
    from openpyxl import load_workbook
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    parts = unzip(data)
    for name, content in parts.items():
        if name.endswith((".xml", ".rels")):
            parts[name] = content.replace(STRICT, MAIN).replace(STRICT_REL, REL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = load_workbook(io.BytesIO(zipped(parts)), data_only=False)
    sheets = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is None:
                    continue
                if c.data_type == "f" and ERROR_CONSTANT.fullmatch(str(c.value)):  # LibreOffice writes #N/A so
                    cells[c.coordinate] = CellValue(str(c.value)[1:], is_error=True)
                elif c.data_type == "f":
                    cells[c.coordinate] = CellValue(str(getattr(c.value, "text", c.value)), is_formula=True)
                elif c.data_type == "e":
                    cells[c.coordinate] = CellValue(c.value, is_error=True)
                else:
                    cells[c.coordinate] = CellValue(c.value)
        sheets[ws.title] = SheetSnapshot(ws.title, ws.sheet_state, bool(ws.protection.sheet), cells)
    return WorkbookSnapshot("", sheets, date1904=wb.epoch == CALENDAR_MAC_1904)


def answers_of(ret_or_snap, blank=None, name: str = "") -> dict:
    if blank is None:
        ret = ret_or_snap
        out = {(r.sheet, r.ref): (r.score, r.policy, r.evidence or None) for r in ret.responses}
        out["cover"] = (ret.return_ref, ret.inspector, ret.date)
        return out
    snap = ret_or_snap
    cover, _ = checks.read_cover(name, snap, blank.form.cover_inputs)
    responses, _ = checks.read_responses(name, snap, blank.schedule, blank.form)
    out = {(r.sheet, r.ref): (r.score, r.policy, r.evidence or None) for r in responses}
    out["cover"] = (cover["return_ref"], cover["inspector"], cover["date"])
    return out


def test_mutants_are_refused_or_read_as_openpyxl_reads_them(tmp_path, bases, schedule):
    templates = Templates(schedule)
    counts = {"mutants": 0, "rejected": 0, "accepted": 0, "silent changes": 0, "openpyxl cannot open": 0}
    silent: list[str] = []
    codes: dict[str, int] = {}
    for seed in SEEDS:
        mt = mutant(bases, seed)
        if not mt.what:
            continue
        counts["mutants"] += 1
        path = tmp_path / "Kent-mutant.xlsx"
        data = zipped(mt.parts)
        path.write_bytes(data)
        ret = check_return(path, schedule, templates)  # a traceback fails the test
        assert "unexpected-error" not in {f.code for f in ret.findings}, (seed, mt.what)
        if ret.status is ReturnStatus.REJECTED:
            counts["rejected"] += 1
            for f in ret.errors():
                codes[f.code] = codes.get(f.code, 0) + 1
            continue
        counts["accepted"] += 1
        try:
            theirs = openpyxl_snapshot(data)
        except Exception as exc:  # noqa: BLE001 - openpyxl's failures are the finding here
            counts["openpyxl cannot open"] += 1
            silent.append(f"seed {seed} {mt.what}: accepted, but openpyxl cannot open it ({type(exc).__name__})")
            continue
        meta = theirs.meta() or {}
        blank, _ = templates.resolve(str(path), meta)
        ours = answers_of(ret)
        differs = blank is None or answers_of(theirs, blank, str(path)) != ours or read_workbook(path).meta() != meta
        if differs:
            counts["silent changes"] += 1
            diff = f"its metadata: {meta}" if blank is None or read_workbook(path).meta() != meta else sorted(
                (k, v, answers_of(theirs, blank, str(path)).get(k)) for k, v in ours.items()
                if answers_of(theirs, blank, str(path)).get(k) != v)[:3]
            silent.append(f"seed {seed} {mt.what}: {diff}")
    summary = {**counts, "rejected by code": dict(sorted(codes.items()))}
    print("\nfuzz counts:", json.dumps(summary))
    Path(tmp_path / "fuzz-counts.json").write_text(json.dumps(summary, indent=1))
    assert counts["mutants"] >= 300 and counts["accepted"] >= 30, summary
    assert not silent, "\n".join(silent)


# --- what the fuzzer found, one test each: refused naming the sheet and cell, or read as Excel reads it


def _edit(base: Base, part: str, old: bytes, new: bytes, count: int = 1) -> bytes:
    parts = dict(base.parts)
    assert old in parts[part], old
    parts[part] = parts[part].replace(old, new, count)
    return zipped(parts)


def _sst_index(base: Base, text: bytes) -> int:
    items = re.findall(rb"<si>.*?</si>", base.parts[SST], re.S)
    return next(i for i, si in enumerate(items) if si.endswith(b">" + text + b"</t></si>"))


def _found(tmp_path: Path, data: bytes) -> tuple[list[dict], int]:
    path = tmp_path / "Kent-odd.xlsx"
    path.write_bytes(data)
    report = tmp_path / "report.json"
    result = run_cli("validate", str(path), "--report", str(report))
    assert "Traceback" not in result.output
    [ret] = json.loads(report.read_text())["returns"]
    return ret["findings"], result.exit_code


def _case(name: str, base: Base) -> tuple[bytes, str, str]:
    """A mutant the fuzzer found accepted with a value only we saw, and the sheet and cell to name."""
    evidence = base.sheets["1 Initial contact"]
    police = _sst_index(base, b"Police detention")
    if name == "unmarked-spaces-in-runs":
        runs = (b'<si><r><t>Police </t></r><r><rPr><b/></rPr><t>detention</t></r></si>')
        items = re.findall(rb"<si>.*?</si>", base.parts[SST], re.S)
        return _edit(base, SST, items[police], runs), "1 Initial contact", "E9"
    if name == "index-3.0":
        return _edit(base, evidence, b'<c r="E9" s="6" t="s"><v>%d</v>' % police,
                     b'<c r="E9" s="6" t="s"><v>%d.0</v>' % police), "1 Initial contact", "E9"
    if name == "index-tab":
        return _edit(base, evidence, b'<c r="E9" s="6" t="s"><v>%d</v>' % police,
                     b'<c r="E9" s="6" t="s"><v>%d\t</v>' % police), "1 Initial contact", "E9"
    if name == "evidence-moved-into-a-locked-formula-cell":
        cell = re.search(rb'<c r="D9" [^>]*>.*?</c>', base.parts[evidence], re.S).group(0)
        moved = b'<c r="D9" s="6" t="s"><v>%d</v></c>' % police
        return _edit(base, evidence, cell, cell + moved), "1 Initial contact", "D9"
    if name == "cell-in-a-foreign-namespace":
        return _edit(base, evidence, b'<c r="E9" s="6" t="s"><v>%d</v></c>' % police,
                     b'<x:c xmlns:x="urn:example" r="E9" s="6" t="s"><x:v>%d</x:v></x:c>' % police), \
            "1 Initial contact", None
    if name == "value-and-inline-text":
        return _edit(base, evidence, b'<c r="E9" s="6" t="s"><v>%d</v></c>' % police,
                     b'<c r="E9" s="6" t="inlineStr"><v>0</v><is><t>Police detention</t></is></c>'), \
            "1 Initial contact", "E9"
    if name == "metadata-with-an-unmarked-trailing-space":
        meta = base.sheets[META_SHEET]  # the force, in a text of its own (the cover's shares the blank's)
        cell = re.search(rb'<c r="B6" t="s"><v>\d+</v>', base.parts[meta]).group(0)
        count = len(re.findall(rb"<si>", base.parts[SST]))
        sst = base.parts[SST].replace(b"</sst>", b"<si><t>Kent </t></si></sst>")
        mutant = Base(base.name, {**base.parts, SST: sst}, base.sheets)
        return _edit(mutant, meta, cell, b'<c r="B6" t="s"><v>%d</v>' % count), META_SHEET, "B6"
    if name == "date-in-a-cell-not-formatted-as-one":  # LibreOffice (as Excel) shows 46329, openpyxl a date
        cover = base.sheets["Cover"]
        cell = re.search(rb'<c r="B9" s="6" t="s"><v>\d+</v></c>', base.parts[cover]).group(0)
        return _edit(base, cover, cell, b'<c r="B9" s="6" t="d"><v>2026-11-03T00:00:00</v></c>'), "Cover", "B9"
    if name == "infinite-number":  # LibreOffice saves it as INF, which openpyxl cannot read back
        return _edit(base, evidence, b'<c r="E9" s="6" t="s"><v>%d</v>' % police, b'<c r="E9" s="6"><v>1e400</v>'), \
            "1 Initial contact", "E9"
    raise AssertionError(name)


@pytest.mark.parametrize("name", [
    "unmarked-spaces-in-runs", "index-3.0", "index-tab", "evidence-moved-into-a-locked-formula-cell",
    "cell-in-a-foreign-namespace", "value-and-inline-text", "metadata-with-an-unmarked-trailing-space",
    "date-in-a-cell-not-formatted-as-one", "infinite-number",
])
def test_a_value_readers_disagree_on_is_refused_naming_sheet_and_cell(tmp_path, bases, name):
    """Found by the fuzzer: each was accepted, and its value differed from openpyxl's and LibreOffice's."""
    data, sheet, cell = _case(name, bases[1])
    findings, status = _found(tmp_path, data)
    assert status == 1 and [f["code"] for f in findings] == ["ambiguous-content"], findings
    message = findings[0]["message"]
    assert f"on sheet '{sheet}'" in message and "save it as .xlsx" in message, message
    assert cell is None or f"cell {cell} " in message, message
    assert (findings[0]["sheet"], findings[0]["cell"]) == (sheet, cell)  # located, for the feedback to mark
    assert "Police" not in message and "Kent " not in message  # the text itself is never shown


@pytest.mark.parametrize("part, why", [
    (SST, "sharedStrings without its namespace"), ("xl/workbook.xml", "a sheet listed twice"),
])
def test_a_package_readers_disagree_on_is_refused(tmp_path, bases, part, why):
    base = bases[1]
    if part == SST:
        data = _edit(base, SST, b' xmlns="' + MAIN + b'"', b"")
    else:
        entry = re.search(rb'<sheet [^>]*name="Cover"[^>]*/>', base.parts[part]).group(0)
        data = _edit(base, part, entry, entry + entry.replace(b'sheetId="1"', b'sheetId="99"'))
    findings, status = _found(tmp_path, data)
    assert status == 1 and [f["code"] for f in findings] == ["ambiguous-content"], findings


def test_text_marked_to_keep_its_spaces_is_read_whole_as_excel_reads_it(tmp_path, bases):
    """Where Excel's reading is certain (xml:space="preserve", in one text or across runs), it is ours."""
    base = bases[1]
    police = _sst_index(base, b"Police detention")
    items = re.findall(rb"<si>.*?</si>", base.parts[SST], re.S)
    runs = b'<si><r><t xml:space="preserve"> Police </t></r><r><rPr><b/></rPr><t>detention</t></r></si>'
    path = tmp_path / "Kent-kept.xlsx"
    path.write_bytes(_edit(base, SST, items[police], runs))
    report = tmp_path / "report.json"
    result = run_cli("validate", str(path), "--report", str(report))
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    assert load_workbook(path)["1 Initial contact"]["E9"].value == " Police detention"
    ret = check_return(path, load_schedule(SCHEDULE_TOML))
    [e9] = [r for r in ret.responses if r.sheet == "1 Initial contact" and r.evidence_cell == "E9"]
    assert e9.evidence == " Police detention"


SAMPLE = 10  # accepted mutants sent through LibreOffice (each costs a second or two) ...
SPREAD = 7  # ... every 7th accepted one


def test_real_client_accepted_mutants_read_as_libreoffice_reads_them(tmp_path, bases, schedule):
    """The differential through a real client, for a sample: accepted mutants opened and saved by LibreOffice
    (standing in for Excel) read as the tool read them. Skipped where LibreOffice is missing; under CI, failed."""
    require_libreoffice()
    templates = Templates(schedule)
    checked: list[str] = []
    differs: list[str] = []
    accepted = 0
    for seed in SEEDS:
        mt = mutant(bases, seed)
        if not mt.what:
            continue
        path = tmp_path / f"Kent-mutant-{seed}.xlsx"
        path.write_bytes(zipped(mt.parts))
        ret = check_return(path, schedule, templates)
        if ret.status is not ReturnStatus.ACCEPTED:
            continue
        accepted += 1
        if accepted % SPREAD:
            continue  # a sample across the seeds, so across the mutations
        saved = tmp_path / f"Kent-mutant-{seed}-libreoffice.xlsx"
        fill(path, saved, [])  # opened in LibreOffice and saved by it: what it read, written out
        theirs = openpyxl_snapshot(saved.read_bytes())
        blank, _ = templates.resolve(str(path), theirs.meta() or {})
        assert blank is not None, (seed, mt.what)
        ours, read = answers_of(ret), answers_of(theirs, blank, str(path))
        if read != ours:
            diff = sorted((k, v, read.get(k)) for k, v in ours.items() if read.get(k) != v)[:3]
            differs.append(f"seed {seed} {mt.what}: {diff}")
        checked.append(f"seed {seed}: {mt.what}")
        if len(checked) == SAMPLE:
            break
    print(f"\nLibreOffice differential: {len(checked)} accepted mutants, {len(differs)} read differently")
    assert len(checked) == SAMPLE
    assert not differs, "\n".join(differs)
