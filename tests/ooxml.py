"""Checks a written .xlsx part by part against the ISO/IEC 29500 schemas, then by the rules no schema states.

Independent of the project's code. Each part is given its schema by its content type in
`[Content_Types].xml` and must have the root element that content type calls for. The schemas
(`tests/ooxml-xsd/`, which travel with the tests) are compiled once per process into one
schema, with small local stand-ins for the `xml:`, `dc:` and `dcterms:` namespaces they import but do
not include. Before validation a part is read as a consumer that knows only the 2006 schemas reads
it (Markup Compatibility): namespaces marked `mc:Ignorable` are dropped and `mc:AlternateContent`
becomes its `mc:Fallback`; `xml:space` on SpreadsheetML `<t>` is checked and then dropped, because
Excel writes it and the 2006 schemas omit it; extensions inside `extLst` are validated laxly, as the
schemas say. Parts with no schema here are listed as unchecked, never passed silently.

Every finding is one readable string, `part:line: message`; `check_package(path).errors` is the list.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

SHARED_ENV = "XLSCHEDULE_SHARED"

# Namespaces.
XML = "http://www.w3.org/XML/1998/namespace"
DC = "http://purl.org/dc/elements/1.1/"
DCTERMS = "http://purl.org/dc/terms/"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
CT = "http://schemas.openxmlformats.org/package/2006/content-types"
PR = "http://schemas.openxmlformats.org/package/2006/relationships"
CP = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
EP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
X = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
XDR = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"

#: Short prefixes for the namespaces in messages, so that they stay readable.
PREFIXES = {X: "x", A: "a", C: "c", XDR: "xdr", R: "r", CT: "ct", PR: "rel", CP: "cp", EP: "ep", CUSTOM: "custom",
            DC: "dc", DCTERMS: "dcterms", MC: "mc", XML: "xml"}

_OFFICE = "application/vnd.openxmlformats-officedocument"
_SML = f"{_OFFICE}.spreadsheetml"
#: Content type -> the root element its part must have. Its schema is the one that declares that root.
ROOTS = {
    "application/vnd.openxmlformats-package.relationships+xml": f"{{{PR}}}Relationships",
    "application/vnd.openxmlformats-package.core-properties+xml": f"{{{CP}}}coreProperties",
    f"{_OFFICE}.extended-properties+xml": f"{{{EP}}}Properties",
    f"{_OFFICE}.custom-properties+xml": f"{{{CUSTOM}}}Properties",
    f"{_SML}.sheet.main+xml": f"{{{X}}}workbook",
    f"{_SML}.template.main+xml": f"{{{X}}}workbook",
    f"{_SML}.worksheet+xml": f"{{{X}}}worksheet",
    f"{_SML}.chartsheet+xml": f"{{{X}}}chartsheet",
    f"{_SML}.styles+xml": f"{{{X}}}styleSheet",
    f"{_SML}.sharedStrings+xml": f"{{{X}}}sst",
    f"{_SML}.table+xml": f"{{{X}}}table",
    f"{_SML}.comments+xml": f"{{{X}}}comments",
    f"{_SML}.calcChain+xml": f"{{{X}}}calcChain",
    f"{_SML}.sheetMetadata+xml": f"{{{X}}}metadata",
    f"{_OFFICE}.drawing+xml": f"{{{XDR}}}wsDr",
    f"{_OFFICE}.drawingml.chart+xml": f"{{{C}}}chartSpace",
    f"{_OFFICE}.theme+xml": f"{{{A}}}theme",
}
CONTENT_TYPES_PART = "[Content_Types].xml"
CONTENT_TYPES_ROOT = f"{{{CT}}}Types"

#: The schema files that declare those roots; everything else they need they import themselves.
SCHEMA_FILES = {
    CT: "opc/opc-contentTypes.xsd",
    PR: "opc/opc-relationships.xsd",
    CP: "opc/opc-coreProperties.xsd",
    EP: "transitional/shared-documentPropertiesExtended.xsd",
    CUSTOM: "transitional/shared-documentPropertiesCustom.xsd",
    X: "transitional/sml.xsd",
    XDR: "transitional/dml-spreadsheetDrawing.xsd",
    C: "transitional/dml-chart.xsd",
    A: "transitional/dml-main.xsd",
}

# Stand-ins for the namespaces the schemas import without including them. Served by a resolver,
# also under the Dublin Core addresses that opc-coreProperties.xsd names, so nothing is fetched.
_XS = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"'
_STANDINS = {
    "standin-xml.xsd": f"""<xs:schema {_XS} targetNamespace="{XML}">
  <xs:attribute name="lang" type="xs:language"/>
  <xs:attribute name="space"><xs:simpleType><xs:restriction base="xs:NCName">
    <xs:enumeration value="default"/><xs:enumeration value="preserve"/>
  </xs:restriction></xs:simpleType></xs:attribute>
  <xs:attribute name="base" type="xs:anyURI"/>
  <xs:attribute name="id" type="xs:ID"/>
</xs:schema>""",
    "standin-dc.xsd": f"""<xs:schema {_XS} xmlns:xml="{XML}" xmlns="{DC}" targetNamespace="{DC}"
    elementFormDefault="qualified">
  <xs:import namespace="{XML}" schemaLocation="standin-xml.xsd"/>
  <xs:complexType name="SimpleLiteral"><xs:simpleContent><xs:extension base="xs:string">
    <xs:attribute ref="xml:lang"/>
  </xs:extension></xs:simpleContent></xs:complexType>
  {"".join(f'<xs:element name="{n}" type="SimpleLiteral"/>' for n in (
        "title", "creator", "subject", "description", "publisher", "contributor", "date", "type", "format",
        "identifier", "source", "language", "relation", "coverage", "rights"))}
</xs:schema>""",
    "standin-dcterms.xsd": f"""<xs:schema {_XS} xmlns="{DCTERMS}" targetNamespace="{DCTERMS}"
    elementFormDefault="qualified">
  <xs:complexType name="W3CDTF"><xs:simpleContent><xs:extension base="W3CDTFValue"/></xs:simpleContent>
  </xs:complexType>
  <xs:simpleType name="W3CDTFValue">
    <xs:union memberTypes="xs:gYear xs:gYearMonth xs:date xs:dateTime"/>
  </xs:simpleType>
  <xs:element name="created" type="W3CDTF"/>
  <xs:element name="modified" type="W3CDTF"/>
</xs:schema>""",
}
_STANDIN_URLS = {
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dc.xsd": "standin-dc.xsd",
    "http://dublincore.org/schemas/xmls/qdc/2003/04/02/dcterms.xsd": "standin-dcterms.xsd",
}


class _StandIns(etree.Resolver):
    def resolve(self, url, pubid, context):
        name = _STANDIN_URLS.get(url) or posixpath.basename(url or "")
        if name in _STANDINS:
            return self.resolve_string(_STANDINS[name], context)
        return None


#: The schemas, kept beside this module (their README says where they come from and on what terms).
XSD_DIR = Path(__file__).resolve().parent / "ooxml-xsd"


def xsd_dir() -> Path:
    """The schema folder: `ooxml-xsd` in $XLSCHEDULE_SHARED if that is set (to try other copies), else the
    one beside this module."""
    override = os.environ.get(SHARED_ENV, "").strip()
    return Path(override) / "ooxml-xsd" if override else XSD_DIR


@functools.cache
def load_schema(folder: Path) -> etree.XMLSchema:
    """One schema for every root in ROOTS, compiled once per process."""
    imports = [(XML, "standin-xml.xsd"), (DC, "standin-dc.xsd"), (DCTERMS, "standin-dcterms.xsd")]
    imports += [(ns, (folder / rel).resolve().as_uri()) for ns, rel in SCHEMA_FILES.items()]
    driver = "".join(f'<xs:import namespace="{ns}" schemaLocation="{loc}"/>' for ns, loc in imports)
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_StandIns())
    doc = etree.fromstring(f"<xs:schema {_XS}>{driver}</xs:schema>", parser,
                           base_url=(folder / "driver.xsd").resolve().as_uri())
    return etree.XMLSchema(etree.ElementTree(doc))


@dataclass(frozen=True)
class Finding:
    """One problem: where it is, which check found it (`code`), and what is wrong."""

    part: str
    line: int | None
    code: str  # "xml", "schema", "package", or the rule: "sheet-name", "selected-tab", "validation", "table"
    message: str

    def __str__(self) -> str:
        return f"{self.part}:{self.line or 0}: {self.message}"


@dataclass
class Report:
    """What check_package found, and which parts it read."""

    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, str] = field(default_factory=dict)  # part -> the root element it was validated as
    unchecked: dict[str, str] = field(default_factory=dict)  # part -> why it has no schema here

    def add(self, part: str, line: int | None, code: str, message: str) -> None:
        self.findings.append(Finding(part, line, code, message))

    @property
    def errors(self) -> list[str]:
        return [str(f) for f in self.findings]

    def errors_except(self, *codes: str) -> list[str]:
        return [str(f) for f in self.findings if f.code not in codes]


def short(text: str) -> str:
    """`{namespace}name` as `prefix:name` in a message."""
    return re.sub(r"\{([^}]*)\}", lambda m: f"{PREFIXES[m[1]]}:" if m[1] in PREFIXES else m[0], text)


# -- reading the package -----------------------------------------------------------------------------

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


class Package:
    """The parts of a zip, their content types and their relationships."""

    def __init__(self, data: bytes) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.names = [i.filename for i in self.zip.infolist() if not i.is_dir()]
        self._trees: dict[str, etree._Element] = {}
        self.defaults: dict[str, str] = {}
        self.overrides: dict[str, str] = {}

    def read(self, part: str) -> bytes:
        return self.zip.read(part)

    def tree(self, part: str) -> etree._Element:
        """The part parsed as written (later checks read this, not the Markup Compatibility view)."""
        if part not in self._trees:
            self._trees[part] = etree.fromstring(self.read(part), _PARSER)
        return self._trees[part]

    def content_type(self, part: str) -> str | None:
        ext = part.rsplit(".", 1)[-1].lower() if "." in posixpath.basename(part) else ""
        return self.overrides.get("/" + part.lower()) or self.defaults.get(ext)

    def rels(self, part: str) -> dict[str, tuple[str, str, str]]:
        """Relationship id -> (type, target part, target mode) of `part` ("" for the package)."""
        folder, name = posixpath.split(part)
        rels_part = posixpath.join(folder, "_rels", f"{name}.rels")
        if rels_part not in self.names:
            return {}
        out = {}
        for rel in self.tree(rels_part).iter(f"{{{PR}}}Relationship"):
            mode = rel.get("TargetMode", "Internal")
            target = rel.get("Target", "")
            if mode == "Internal":
                target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                    posixpath.join(folder, target))
            out[rel.get("Id", "")] = (rel.get("Type", ""), target, mode)
        return out


def _mc_view(data: bytes) -> etree._Element:
    """The part as a consumer that knows only the 2006 schemas reads it (ISO/IEC 29500-3)."""
    root = etree.fromstring(data, _PARSER)
    if MC.encode() not in data:  # nothing to do, and the walk below is the slow part of a big sheet
        return root
    ignorable: set[str] = set()
    for el in root.iter(etree.Element):
        for prefix in (el.get(f"{{{MC}}}Ignorable") or "").split():
            if prefix in el.nsmap:
                ignorable.add(el.nsmap[prefix])
    for alt in list(root.iter(f"{{{MC}}}AlternateContent")):
        parent = alt.getparent()
        fallback = alt.find(f"{{{MC}}}Fallback")
        at = parent.index(alt)
        for child in reversed(list(fallback) if fallback is not None else []):
            parent.insert(at + 1, child)
        parent.remove(alt)
    for el in list(root.iter(etree.Element)):
        if etree.QName(el).namespace in ignorable and el.getparent() is not None:
            el.getparent().remove(el)
            continue
        for name in list(el.attrib):
            ns = etree.QName(name).namespace
            if ns == MC or ns in ignorable:
                del el.attrib[name]
    return root


def _readable(root: etree._Element, path: str | None) -> str:
    """libxml2's `/*/*[11]` as `/x:worksheet/x:sheetProtection`, with a cell's or row's `r` where it has one."""
    if not path:
        return ""
    try:
        prefixes = {k: v for el in root.iter(etree.Element) for k, v in el.nsmap.items() if k}
        found = root.getroottree().xpath(path, namespaces=prefixes)
    except etree.XPathError:
        found = []
    if len(found) != 1 or not isinstance(found[0], etree._Element):
        return short(path)
    steps = []
    for el in [found[0], *found[0].iterancestors()]:
        step = short(el.tag)
        if el.get("r"):
            step += f"[@r={el.get('r')!r}]"
        elif el.getparent() is not None and len(el.getparent().findall(el.tag)) > 1:
            step += f"[{el.getparent().findall(el.tag).index(el) + 1}]"
        steps.append(step)
    return "/" + "/".join(reversed(steps))


def _validate_part(pkg: Package, part: str, expected_root: str, schema: etree.XMLSchema, report: Report) -> None:
    try:
        raw = pkg.tree(part)
    except etree.XMLSyntaxError as exc:
        report.add(part, exc.lineno, "xml", f"not well-formed XML: {exc.msg}")
        return
    if raw.tag != expected_root:
        report.add(part, raw.sourceline, "schema", short(f"root is {raw.tag}, but its content type calls for "
                                                         f"{expected_root}"))
        return
    root = _mc_view(pkg.read(part))  # a fresh parse, so the tree the rules read stays as written
    for t in root.iter(f"{{{X}}}t"):
        space = t.attrib.pop(f"{{{XML}}}space", None)
        if space not in (None, "preserve", "default"):
            report.add(part, t.sourceline, "schema", f"xml:space={space!r} on <t>: only 'preserve' or 'default'")
    if not schema.validate(etree.ElementTree(root)):
        for e in schema.error_log:
            where = _readable(root, e.path)
            report.add(part, e.line, "schema", short(e.message) + (f" (at {where})" if where else ""))
    report.checked[part] = short(expected_root)


def check_package(path: Path | str | bytes, xsd: Path | None = None) -> Report:
    """Validate every part of the package against its schema, then apply the rules no schema states."""
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    schema = load_schema((xsd or xsd_dir()).resolve())
    report = Report()
    pkg = Package(data)
    if CONTENT_TYPES_PART not in pkg.names:
        report.add(CONTENT_TYPES_PART, None, "package", "missing: the package has no content types")
        return report
    _validate_part(pkg, CONTENT_TYPES_PART, CONTENT_TYPES_ROOT, schema, report)
    types = pkg.tree(CONTENT_TYPES_PART)
    pkg.defaults = {d.get("Extension", "").lower(): d.get("ContentType", "") for d in types.iter(f"{{{CT}}}Default")}
    pkg.overrides = {o.get("PartName", "").lower(): o.get("ContentType", "") for o in types.iter(f"{{{CT}}}Override")}
    present = {"/" + n.lower() for n in pkg.names}
    for override in types.iter(f"{{{CT}}}Override"):
        if override.get("PartName", "").lower() not in present:
            report.add(CONTENT_TYPES_PART, override.sourceline, "package",
                       f"Override for {override.get('PartName')}, which is not in the package")
    for part in pkg.names:
        if part == CONTENT_TYPES_PART:
            continue
        ctype = pkg.content_type(part)
        if ctype is None:
            report.add(CONTENT_TYPES_PART, None, "package", f"{part} has no content type")
        elif ctype in ROOTS:
            _validate_part(pkg, part, ROOTS[ctype], schema, report)
        else:
            report.unchecked[part] = f"no schema here for {ctype}"
    try:
        check_rules(pkg, report)
    except (KeyError, ValueError, AttributeError, etree.XMLSyntaxError) as exc:  # a part too broken to read
        report.add(CONTENT_TYPES_PART, None, "package", f"rules not checked: {type(exc).__name__}: {exc}")
    return report


# -- the rules no schema states ----------------------------------------------------------------------

SHEET_NAME_FORBIDDEN = set("[]:*?/\\")
MAX_SHEET_NAME = 31
MAX_LIST = 255  # a literal list's characters inside its quotes, commas included
MAX_TITLE, MAX_PROMPT, MAX_ERROR = 32, 255, 225
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"


@dataclass
class Sheet:
    name: str
    state: str
    part: str  # the worksheet part ("" when its relationship is broken)
    line: int | None  # of its <sheet> in the workbook part


def check_rules(pkg: Package, report: Report) -> None:
    """The rules no schema states: sheet names, the selected tab, data validations, tables."""
    book = next((target for kind, target, _ in pkg.rels("").values() if kind == _REL + "officeDocument"), None)
    if book is None or book not in pkg.names:
        report.add("_rels/.rels", None, "package", "no officeDocument relationship to a workbook part")
        return
    book_rels = pkg.rels(book)
    sheets = []
    for el in pkg.tree(book).iter(f"{{{X}}}sheet"):
        _, target, _ = book_rels.get(el.get(f"{{{R}}}id", ""), ("", "", ""))
        if target not in pkg.names:
            report.add(book, el.sourceline, "package", f"sheet {el.get('name')!r}: its r:id leads to no part")
            target = ""
        sheets.append(Sheet(el.get("name", ""), el.get("state", "visible"), target, el.sourceline))
    _check_sheet_names(book, sheets, report)
    _check_selected_tab(pkg, book, sheets, report)
    table_names: dict[str, str] = {}
    for sheet in sheets:
        if sheet.part and pkg.tree(sheet.part).tag == f"{{{X}}}worksheet":
            _check_validations(pkg, sheet.part, report)
            _check_tables(pkg, sheet.part, table_names, report)
            _check_notes(pkg, sheet.part, report)


def _check_sheet_names(book: str, sheets: list[Sheet], report: Report) -> None:
    seen: dict[str, str] = {}
    for sheet in sheets:
        name, line = sheet.name, sheet.line
        if not name or len(name) > MAX_SHEET_NAME:
            report.add(book, line, "sheet-name",
                       f"sheet name {name!r} is {len(name)} characters: Excel allows 1 to {MAX_SHEET_NAME}")
        bad = sorted(SHEET_NAME_FORBIDDEN & set(name))
        if bad:
            report.add(book, line, "sheet-name", f"sheet name {name!r} contains {''.join(bad)!r}, which Excel forbids")
        if name.startswith("'") or name.endswith("'"):
            report.add(book, line, "sheet-name", f"sheet name {name!r} starts or ends with an apostrophe")
        if name.casefold() == "history":
            report.add(book, line, "sheet-name", f"sheet name {name!r} is reserved by Excel")
        if name.casefold() in seen:
            report.add(book, line, "sheet-name", f"sheet name {name!r} repeats {seen[name.casefold()]!r} "
                                                 "(Excel ignores case)")
        seen.setdefault(name.casefold(), name)


def _check_selected_tab(pkg: Package, book: str, sheets: list[Sheet], report: Report) -> None:
    """Exactly one sheet has tabSelected in the first workbook view: the visible one at activeTab."""
    view = pkg.tree(book).find(f"{{{X}}}bookViews/{{{X}}}workbookView")
    line = None if view is None else view.sourceline
    active = int(view.get("activeTab", "0")) if view is not None else 0
    selected = []
    for i, sheet in enumerate(sheets):
        if sheet.part:
            views = pkg.tree(sheet.part).iterfind(f"{{{X}}}sheetViews/{{{X}}}sheetView")
            if any(v.get("workbookViewId", "0") == "0" and _true(v.get("tabSelected")) for v in views):
                selected.append(i)
    names = [sheets[i].name for i in selected]
    if not selected:
        report.add(book, line, "selected-tab", "no sheet has tabSelected=1: exactly one, the active sheet, must")
    elif len(selected) > 1:
        report.add(book, line, "selected-tab", f"{len(selected)} sheets have tabSelected=1 ({', '.join(names)}): "
                                               "Excel opens them grouped, so an edit lands on all of them")
    elif selected[0] != active:
        report.add(book, line, "selected-tab", f"the selected tab is {names[0]!r} but activeTab={active}")
    if not 0 <= active < len(sheets):
        report.add(book, line, "selected-tab", f"activeTab={active}, but there are {len(sheets)} sheets")
    elif sheets[active].state != "visible":
        report.add(book, line, "selected-tab", f"the active sheet {sheets[active].name!r} is {sheets[active].state}")


def _true(value: str | None) -> bool:
    return value in ("1", "true")


_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def _cell(ref: str) -> tuple[int, int]:
    """`B7` as (column 2, row 7)."""
    m = _CELL.match(ref.upper())
    if not m:
        raise ValueError(f"{ref!r} is not a cell reference")
    col = 0
    for ch in m[1]:
        col = col * 26 + ord(ch) - 64
    return col, int(m[2])


def _box(ref: str) -> tuple[int, int, int, int]:
    """`A1:C3` or `B2` as (first col, first row, last col, last row)."""
    first, _, last = ref.partition(":")
    c1, r1 = _cell(first)
    c2, r2 = _cell(last or first)
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def _col_letters(col: int) -> str:
    out = ""
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def _check_validations(pkg: Package, part: str, report: Report) -> None:
    """Literal lists of 255 characters at most; Excel's title and message limits; no cell under two."""
    placed: list[tuple[tuple[int, int, int, int], str, int | None]] = []
    for dv in pkg.tree(part).iter(f"{{{X}}}dataValidation", f"{{{X14}}}dataValidation"):
        line = dv.sourceline
        if dv.tag == f"{{{X}}}dataValidation":  # x14:dataValidation (in extLst) keeps both in xm: children
            sqref, formula = dv.get("sqref", ""), dv.findtext(f"{{{X}}}formula1")
        else:
            sqref, formula = dv.findtext(f"{{{XM}}}sqref", ""), dv.findtext(f"{{{X14}}}formula1/{{{XM}}}f")
        where = f"data validation on {sqref}"
        if dv.get("type") == "list" and formula and formula.startswith('"'):
            literal = formula[1:-1] if len(formula) > 1 and formula.endswith('"') else formula[1:]
            literal = literal.replace('""', '"')
            if len(literal) > MAX_LIST:
                report.add(part, line, "validation",
                           f"{where}: its literal list is {len(literal)} characters; Excel allows {MAX_LIST}")
        for attr, limit in (("promptTitle", MAX_TITLE), ("errorTitle", MAX_TITLE), ("prompt", MAX_PROMPT),
                            ("error", MAX_ERROR)):
            if len(dv.get(attr) or "") > limit:
                report.add(part, line, "validation",
                           f"{where}: {attr} is {len(dv.get(attr))} characters; Excel allows {limit}")
        for ref in sqref.split():
            try:
                box = _box(ref)
            except ValueError:
                report.add(part, line, "validation", f"{where}: {ref!r} is not a cell or range")
                continue
            for other, other_ref, other_line in placed:
                if box[0] <= other[2] and other[0] <= box[2] and box[1] <= other[3] and other[1] <= box[3]:
                    report.add(part, line, "validation", f"{where}: {ref} overlaps {other_ref}, under the validation "
                                                         f"on line {other_line}; a cell can have only one")
            placed.append((box, ref, line))


VML_X = "urn:schemas-microsoft-com:office:excel"


def _check_notes(pkg: Package, part: str, report: Report) -> None:
    """VML has no schema here (ISO/IEC 29500-4 describes it only in prose), so what Excel needs of a sheet's
    notes is checked by rule: a comments part has its VML drawing, referenced by <legacyDrawing>, and that
    drawing is well-formed with one note shape (x:ClientData ObjectType="Note") on each comment's cell."""
    rels = pkg.rels(part)
    comments = [t for k, t, _ in rels.values() if k == _REL + "comments" and t in pkg.names]
    drawings = {rid: t for rid, (k, t, _) in rels.items() if k == _REL + "vmlDrawing"}
    if not comments:
        return
    legacy = pkg.tree(part).find(f"{{{X}}}legacyDrawing")
    rid = None if legacy is None else legacy.get(f"{{{R}}}id")
    if rid not in drawings or drawings[rid] not in pkg.names:
        report.add(part, None, "notes", "a comments part but no <legacyDrawing> leading to its VML drawing: "
                                        "Excel shows no note")
        return
    vml = drawings[rid]
    try:
        root = etree.fromstring(pkg.read(vml), _PARSER)
    except etree.XMLSyntaxError as exc:
        report.add(vml, exc.lineno, "xml", f"not well-formed XML: {exc.msg}")
        return
    shapes = set()
    for data in root.iter(f"{{{VML_X}}}ClientData"):
        if data.get("ObjectType") == "Note":
            shapes.add((int(data.findtext(f"{{{VML_X}}}Row", "-1")), int(data.findtext(f"{{{VML_X}}}Column", "-1"))))
    cells = set()
    for comment in pkg.tree(comments[0]).iter(f"{{{X}}}comment"):
        col, row = _cell(comment.get("ref", ""))
        cells.add((row - 1, col - 1))
    if shapes != cells:
        report.add(vml, None, "notes", f"note shapes on {len(shapes)} cells, comments on {len(cells)}: "
                                       f"they differ by {len(shapes ^ cells)}")


def _cell_text(pkg: Package, c: etree._Element) -> str:
    kind = c.get("t", "n")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in c.iterfind(f"{{{X}}}is//{{{X}}}t"))
    value = c.findtext(f"{{{X}}}v") or ""
    if kind == "s":
        strings = next((pkg.tree(p) for p in pkg.names if pkg.content_type(p) == f"{_SML}.sharedStrings+xml"), None)
        items = [] if strings is None else strings.findall(f"{{{X}}}si")
        index = int(value) if value.isdigit() else len(items)
        return "".join(t.text or "" for t in items[index].iter(f"{{{X}}}t")) if index < len(items) else ""
    return value


def _check_tables(pkg: Package, part: str, table_names: dict[str, str], report: Report) -> None:
    """Table names unique in the workbook; column names unique, one per column, equal to the header cells."""
    cells = None
    for kind, target, _ in pkg.rels(part).values():
        if kind != _REL + "table" or target not in pkg.names:
            continue
        table = pkg.tree(target)
        display = table.get("displayName", "")
        if display.casefold() in table_names:
            report.add(target, table.sourceline, "table",
                       f"table name {display!r} is also the name of {table_names[display.casefold()]}")
        table_names[display.casefold()] = target
        c1, r1, c2, _ = _box(table.get("ref", ""))
        columns = table.findall(f"{{{X}}}tableColumns/{{{X}}}tableColumn")
        names = [col.get("name", "") for col in columns]
        count = table.find(f"{{{X}}}tableColumns").get("count")
        if len(names) != c2 - c1 + 1 or (count is not None and int(count) != len(names)):
            report.add(target, table.sourceline, "table", f"ref {table.get('ref')} is {c2 - c1 + 1} columns wide, "
                                                          f"but there are {len(names)} tableColumns (count={count})")
        seen: set[str] = set()
        for col, name in zip(columns, names):
            if name.casefold() in seen:
                report.add(target, col.sourceline, "table", f"column name {name!r} repeats (Excel ignores case)")
            seen.add(name.casefold())
        if table.get("headerRowCount", "1") == "0":
            continue
        if cells is None:
            cells = {_cell(c.get("r")): c for c in pkg.tree(part).iter(f"{{{X}}}c") if c.get("r")}
        for i, (col, name) in enumerate(zip(columns, names)):
            cell = cells.get((c1 + i, r1))
            text = "" if cell is None else _cell_text(pkg, cell)
            if text != name:
                report.add(target, col.sourceline, "table", f"column {i + 1} is named {name!r}, but its header cell "
                                                            f"{_col_letters(c1 + i)}{r1} in {part} holds {text!r}")
