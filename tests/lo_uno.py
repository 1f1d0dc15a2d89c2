#!/usr/bin/python3
"""Drive a private headless LibreOffice Calc over UNO (stdlib + ``uno`` only).

Debian's ``python3-uno`` only imports in the system interpreter, so this
script is run as a helper process::

    /usr/bin/python3 tests/lo_uno.py inspect FILE
    /usr/bin/python3 tests/lo_uno.py fill IN OUT SPEC.json
    /usr/bin/python3 tests/lo_uno.py fill_pdf IN OUT_XLSX OUT_PDF SPEC.json
    /usr/bin/python3 tests/lo_uno.py unprotect IN OUT [PASSWORD]

Each run starts its own ``soffice`` (fresh profile in a temp dir, a unique
named pipe), does one job, closes the document, shuts soffice down and
prints exactly one JSON object on stdout.  On failure the object is
``{"error": "..."}`` and the exit status is 1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

CONNECT_TIMEOUT = 60.0
XLSX_FILTER = "Calc MS Excel 2007 XML"
# Last row index of an xlsx sheet: ranges reaching it are whole-column
# formatting and are clipped to the content area instead of extending it.
MAX_ROW = 1048575


class DriverError(Exception):
    """An expected failure, reported as {"error": ...} without a traceback."""


# ---------------------------------------------------------------------------
# cell addresses

_ADDR_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def col_letters(col: int) -> str:
    out = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        out = chr(65 + rem) + out
    return out


def addr(col: int, row: int) -> str:
    return f"{col_letters(col)}{row + 1}"


def parse_addr(text: str) -> tuple[int, int]:
    m = _ADDR_RE.match(str(text).strip())
    if not m:
        raise DriverError(f"bad cell address {text!r}")
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + (ord(ch) - 64)
    return col - 1, int(m.group(2)) - 1


# ---------------------------------------------------------------------------
# soffice lifecycle


def find_soffice() -> str:
    exe = os.environ.get("SOFFICE") or shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        raise DriverError("soffice/libreoffice not found on PATH")
    return exe


class Office:
    """A private soffice process plus a UNO connection to it."""

    def __init__(self) -> None:
        self.tmpdir = tempfile.mkdtemp(prefix="lo_uno_")
        self.pipe = f"lo_uno_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(self.tmpdir, "soffice.log")
        self.ctx = None
        self.desktop = None

    # -- start/connect ------------------------------------------------------
    def start(self) -> None:
        profile = Path(self.tmpdir, "profile").as_uri()
        cmd = [
            find_soffice(),
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile}",
            f"--accept=pipe,name={self.pipe};urp;StarOffice.ComponentContext",
        ]
        log = open(self.log_path, "wb")
        try:
            # Own process group: the soffice wrapper (oosplash) forks
            # soffice.bin, and killpg() reaches both.
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.tmpdir,
            )
        finally:
            log.close()

    def connect(self, timeout: float = CONNECT_TIMEOUT) -> None:
        import uno
        from com.sun.star.connection import NoConnectException

        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:pipe,name={self.pipe};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + timeout
        delay = 0.1
        while True:
            try:
                self.ctx = resolver.resolve(url)
                break
            except NoConnectException:
                pass
            if self.proc is not None and self.proc.poll() is not None:
                raise DriverError(
                    f"soffice exited with status {self.proc.returncode} before accepting "
                    f"a connection: {self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise DriverError(
                    f"could not connect to soffice within {timeout:.0f}s: {self._log_tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)
        self.desktop = self.ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", self.ctx
        )

    def _log_tail(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-2000:].strip() or "(no output)"
        except OSError:
            return "(no log)"

    # -- documents ----------------------------------------------------------
    def load(self, path: str, hidden: bool = True):
        p = Path(path)
        if not p.is_file():
            raise DriverError(f"file not found: {path}")
        url = p.resolve().as_uri()
        props = (
            _prop("Hidden", hidden),
            _prop("ReadOnly", False),
            # never run document macros (MacroExecMode.NEVER_EXECUTE == 0)
            _prop("MacroExecutionMode", 0),
            # don't ask/update links (UpdateDocMode.NO_UPDATE == 0)
            _prop("UpdateDocMode", 0),
        )
        try:
            doc = self.desktop.loadComponentFromURL(url, "_blank", 0, props)
        except Exception as exc:  # IllegalArgumentException, IOException, ...
            raise DriverError(f"LibreOffice could not load {path}: {_uno_msg(exc)}") from None
        if doc is None:
            raise DriverError(f"LibreOffice could not load {path} (loadComponentFromURL returned None)")
        if not hasattr(doc, "getSheets"):
            _close(doc)
            raise DriverError(f"{path} did not open as a spreadsheet")
        return doc

    # -- shutdown -------------------------------------------------------------
    def shutdown(self) -> None:
        if self.desktop is not None:
            try:
                self.desktop.terminate()
            except Exception:
                # The bridge usually goes away (DisposedException) while
                # terminate() is in flight; that is the expected outcome.
                pass
            self.desktop = None
            self.ctx = None
        if self.proc is not None:
            self._stop_process()
            self.proc = None
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def _stop_process(self) -> None:
        proc = self.proc
        assert proc is not None
        pgid = proc.pid  # start_new_session=True: group id == wrapper pid
        # After desktop.terminate() the wrapper (oosplash) exits once
        # soffice.bin has; give both a moment to finish on their own --
        # signalling soffice.bin mid-shutdown only makes it slower.
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            if _wait_group_gone(pgid, 5.0):
                return
            _killpg(pgid, signal.SIGTERM)
            if _wait_group_gone(pgid, 5.0):
                return
            _killpg(pgid, signal.SIGKILL)
            _wait_group_gone(pgid, 5.0)
        finally:
            try:
                proc.wait(timeout=5)  # reap the wrapper
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """True while a non-zombie process of group *pgid* exists."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = None
    if entries is not None:
        for entry in entries:
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read().decode("ascii", "replace")
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            # fields: state ppid pgrp ...
            if len(fields) >= 3 and fields[2] == str(pgid) and fields[0] != "Z":
                return True
        return False
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _wait_group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if not _group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _prop(name: str, value):
    from com.sun.star.beans import PropertyValue

    pv = PropertyValue()
    pv.Name = name
    pv.Value = value
    return pv


def _uno_msg(exc: BaseException) -> str:
    msg = getattr(exc, "Message", None) or str(exc)
    return f"{type(exc).__name__}: {msg}".strip()


def _close(doc) -> None:
    try:
        doc.close(True)
    except Exception:
        try:
            doc.dispose()
        except Exception:
            pass


def _store(doc, out: str, filter_name: str) -> str:
    """Save (or export) the document to `out` through one of LibreOffice's filters; the path saved."""
    out_path = Path(out).resolve()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    props = (_prop("FilterName", filter_name), _prop("Overwrite", True))
    try:
        doc.storeToURL(out_path.as_uri(), props)
    except Exception as exc:
        raise DriverError(f"could not save {out}: {_uno_msg(exc)}") from None
    return str(out_path)


def _store_xlsx(doc, out: str) -> None:
    _store(doc, out, XLSX_FILTER)


# ---------------------------------------------------------------------------
# inspect


def _enum_value(v) -> str:
    return getattr(v, "value", str(v))


def parse_list_formula(formula: str) -> list[str] | None:
    """'"Yes";"No";"N/A"' -> ["Yes", "No", "N/A"]; None if not a literal list."""
    s = formula.strip()
    if not s:
        return []
    items: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if s[i] != '"':
            return None  # a reference/range/formula, not a literal list
        i += 1
        buf = []
        while True:
            if i >= n:
                return None
            if s[i] == '"':
                if i + 1 < n and s[i + 1] == '"':
                    buf.append('"')
                    i += 2
                    continue
                i += 1
                break
            buf.append(s[i])
            i += 1
        items.append("".join(buf))
        while i < n and s[i] == " ":
            i += 1
        if i < n:
            if s[i] not in ";,":
                return None
            i += 1
            while i < n and s[i] == " ":
                i += 1
    return items


def _range_choices(doc, ref: str) -> list[str] | None:
    """Displayed strings of the cells a list validation refers to, if resolvable."""
    ref = ref.strip()
    if ref.startswith("="):
        ref = ref[1:]
    ranges = []
    try:
        ranges = list(doc.getSheets().getCellRangesByName(ref))
    except Exception:
        ranges = []
    if not ranges:
        try:
            names = doc.getPropertyValue("NamedRanges")
            if names.hasByName(ref):
                ranges = [names.getByName(ref).getReferredCells()]
        except Exception:
            ranges = []
    if not ranges or any(r is None for r in ranges):
        return None
    out: list[str] = []
    for rng in ranges:
        ra = rng.getRangeAddress()
        if (ra.EndRow - ra.StartRow + 1) * (ra.EndColumn - ra.StartColumn + 1) > 10000:
            return None
        for r in range(ra.EndRow - ra.StartRow + 1):
            for c in range(ra.EndColumn - ra.StartColumn + 1):
                text = rng.getCellByPosition(c, r).getString()
                if text != "":
                    out.append(text)
    return out


def _validation_info(v, doc=None) -> dict:
    vtype = _enum_value(v.Type)
    f1 = v.getFormula1()
    f2 = v.getFormula2()
    info = {
        "type": vtype,
        "operator": _enum_value(v.getOperator()),
        "formula1": f1,
        "formula2": f2,
        "allow_blank": bool(v.IgnoreBlankCells),
        "show_error": bool(v.ShowErrorMessage),
        "error_style": _enum_value(v.ErrorAlertStyle),
        "error_title": v.ErrorTitle,
        "error_message": v.ErrorMessage,
        "show_input": bool(v.ShowInputMessage),
        "input_title": v.InputTitle,
        "input_message": v.InputMessage,
    }
    if vtype == "LIST":
        choices = parse_list_formula(f1)
        if choices is not None:
            info["choices_source"] = "literal"
        elif doc is not None:
            choices = _range_choices(doc, f1)
            info["choices_source"] = "reference" if choices is not None else "unresolved"
        info["choices"] = choices
    return info


def _used_area(sheet) -> tuple[int, int, int, int] | None:
    """(col0, row0, col1, row1) of the cells with content, or None if empty."""
    cursor = sheet.createCursor()
    cursor.gotoStartOfUsedArea(False)
    cursor.gotoEndOfUsedArea(True)
    ra = cursor.getRangeAddress()
    return ra.StartColumn, ra.StartRow, ra.EndColumn, ra.EndRow


def _iter_ranges(ranges):
    """RangeAddress structs of an XSheetCellRanges."""
    return list(ranges.getRangeAddresses())


def inspect_sheet(sheet, doc=None) -> dict:  # noqa: C901 - one pass over what a sheet shows
    name = sheet.getName()
    out = {
        "name": name,
        "visible": bool(sheet.getPropertyValue("IsVisible")),
        "protected": bool(sheet.isProtected()),
    }
    c0, r0, c1, r1 = _used_area(sheet)
    # Empty input cells (validation/unlocked, no content) lie outside the
    # content area that gotoEndOfUsedArea reports; grow the area by the
    # extent of bounded attribute ranges that carry a validation or are
    # unlocked.  Whole-column/whole-row formatting is clipped to the area.
    interesting = []  # (RangeAddress, validation-dict|None, unlocked)
    uniques = sheet.getUniqueCellFormatRanges()
    for i in range(uniques.getCount()):
        ranges = uniques.getByIndex(i)
        val = ranges.getPropertyValue("Validation")
        vinfo = None if _enum_value(val.Type) == "ANY" else _validation_info(val, doc)
        unlocked = not ranges.getPropertyValue("CellProtection").IsLocked
        if vinfo is None and not unlocked:
            continue
        for ra in _iter_ranges(ranges):
            interesting.append((ra, vinfo, unlocked))
    whole_area_empty = c0 == 0 and r0 == 0 and c1 == 0 and r1 == 0 and \
        sheet.getCellByPosition(0, 0).getType().value == "EMPTY"
    bc0, br0, bc1, br1 = (None,) * 4 if whole_area_empty else (c0, r0, c1, r1)
    for ra, _v, _u in interesting:
        if ra.EndRow >= MAX_ROW or (ra.EndRow - ra.StartRow) > 100000:
            continue
        if ra.EndColumn - ra.StartColumn > 1000:
            continue
        if bc0 is None:
            bc0, br0, bc1, br1 = ra.StartColumn, ra.StartRow, ra.EndColumn, ra.EndRow
        else:
            bc0, br0 = min(bc0, ra.StartColumn), min(br0, ra.StartRow)
            bc1, br1 = max(bc1, ra.EndColumn), max(br1, ra.EndRow)
    validations: dict[str, dict] = {}
    unlocked_cells: list[tuple[int, int]] = []
    if bc0 is not None:
        for ra, vinfo, unlocked in interesting:
            sc, sr = max(ra.StartColumn, bc0), max(ra.StartRow, br0)
            ec, er = min(ra.EndColumn, bc1), min(ra.EndRow, br1)
            for r in range(sr, er + 1):
                for c in range(sc, ec + 1):
                    if vinfo is not None:
                        validations[addr(c, r)] = vinfo
                    if unlocked:
                        unlocked_cells.append((r, c))
    unlocked_cells.sort()
    out["used_area"] = None if bc0 is None else f"{addr(bc0, br0)}:{addr(bc1, br1)}"
    out["validations"] = {
        k: validations[k]
        for k in sorted(validations, key=lambda a: (parse_addr(a)[1], parse_addr(a)[0]))
    }
    out["unlocked"] = [addr(c, r) for r, c in unlocked_cells]
    return out


def cmd_inspect(office: Office, args: list[str]) -> dict:
    if len(args) != 1:
        raise DriverError("usage: inspect FILE")
    doc = office.load(args[0])
    try:
        sheets = doc.getSheets()
        result = {"sheets": [inspect_sheet(sheets.getByIndex(i), doc) for i in range(sheets.getCount())]}
    finally:
        _close(doc)
    return result


# ---------------------------------------------------------------------------
# fill


def _write_cell(sheet, cell_ref: str, value, kind: str) -> None:
    col, row = parse_addr(cell_ref)
    cell = sheet.getCellByPosition(col, row)
    if sheet.isProtected() and cell.getPropertyValue("CellProtection").IsLocked:
        raise DriverError("cell is locked on a protected sheet")
    if kind == "input":
        # What Calc's input line does with typed text (English number
        # format): "4" -> 4.0, "=1+1" -> formula, anything else -> text.
        cell.setFormula("" if value is None else str(value))
    elif kind == "string":
        cell.setString("" if value is None else str(value))
    elif kind == "number":
        try:
            cell.setValue(float(value))
        except (TypeError, ValueError):
            raise DriverError(f"not a number: {value!r}") from None
    elif kind == "formula":
        cell.setFormula(str(value))
    else:
        raise DriverError(f"unknown kind {kind!r} (string|number|formula|input)")


def cmd_fill(office: Office, args: list[str]) -> dict:
    if len(args) != 3:
        raise DriverError("usage: fill IN OUT SPEC.json")
    src, dst, spec_path = args
    try:
        spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DriverError(f"cannot read spec {spec_path}: {exc}") from None
    if not isinstance(spec, list):
        raise DriverError("spec must be a JSON list")
    doc = office.load(src)
    written = 0
    errors: list[dict] = []
    try:
        sheets = doc.getSheets()
        for entry in spec:
            where = {"sheet": entry.get("sheet"), "cell": entry.get("cell")}
            try:
                name = entry["sheet"]
                if not sheets.hasByName(name):
                    raise DriverError(f"no sheet named {name!r}")
                _write_cell(sheets.getByName(name), entry["cell"], entry.get("value"),
                            entry.get("kind", "input"))
                written += 1
            except DriverError as exc:
                errors.append({**where, "error": str(exc)})
            except KeyError as exc:
                errors.append({**where, "error": f"spec entry missing {exc}"})
            except Exception as exc:  # UNO exceptions, e.g. a protection refusal
                errors.append({**where, "error": _uno_msg(exc)})
        _store_xlsx(doc, dst)
    finally:
        _close(doc)
    return {"written": written, "errors": errors}


def _row_points(sheet, row: int) -> float:
    """A row's height in points (UNO gives 1/100 mm)."""
    return round(sheet.getRows().getByIndex(row).Height / 100 / 25.4 * 72, 1)


def cmd_fill_pdf(office: Office, args: list[str]) -> dict:
    """Fill like a user, save as xlsx, open the saved file afresh and export it to PDF, as an inspector
    printing the return would. Reports the height LibreOffice gives each filled cell's row."""
    if len(args) != 4:
        raise DriverError("usage: fill_pdf IN OUT_XLSX OUT_PDF SPEC.json")
    src, dst, pdf, spec_path = args
    result = cmd_fill(office, [src, dst, spec_path])
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    doc = office.load(dst)
    try:
        sheets = doc.getSheets()
        heights = {}
        for entry in spec:
            _col, row = parse_addr(entry["cell"])
            heights[f"{entry['sheet']}!{row + 1}"] = _row_points(sheets.getByName(entry["sheet"]), row)
        _store(doc, pdf, "calc_pdf_Export")
    finally:
        _close(doc)
    return {**result, "heights": heights}


# ---------------------------------------------------------------------------
# unprotect


def cmd_unprotect(office: Office, args: list[str]) -> dict:
    if len(args) not in (2, 3):
        raise DriverError("usage: unprotect IN OUT [PASSWORD]")
    src, dst = args[:2]
    password = args[2] if len(args) == 3 else ""
    doc = office.load(src)
    done: list[str] = []
    try:
        sheets = doc.getSheets()
        for i in range(sheets.getCount()):
            sheet = sheets.getByIndex(i)
            if sheet.isProtected():
                try:
                    try:
                        sheet.unprotect(password)
                    except Exception:
                        if not password:
                            raise
                        sheet.unprotect("")  # this sheet has no password
                except Exception as exc:  # IllegalArgumentException: wrong password
                    raise DriverError(
                        f"cannot unprotect sheet {sheet.getName()!r} (password-protected?): "
                        f"{_uno_msg(exc)}"
                    ) from None
                done.append(sheet.getName())
        _store_xlsx(doc, dst)
    finally:
        _close(doc)
    return {"unprotected": done}


def cmd_save_xls(office: Office, args: list[str]) -> dict:
    """Save a workbook in the old binary .xls format, as an inspector choosing "Excel 97-2003" would."""
    if len(args) != 2:
        raise DriverError("usage: save_xls IN OUT")
    src, dst = args
    doc = office.load(src)
    try:
        saved = _store(doc, dst, "MS Excel 97")
    finally:
        _close(doc)
    return {"saved": saved}


# ---------------------------------------------------------------------------
# notes: what a reader sees of a workbook's notes (comments) and of its first sheet


def cmd_notes(office: Office, args: list[str]) -> dict:
    """The sheets in order, every cell note by sheet and cell, and the first sheet's text cell by cell."""
    if len(args) != 1:
        raise DriverError("usage: notes FILE")
    doc = office.load(args[0])
    try:
        sheets = doc.getSheets()
        names = [sheets.getByIndex(i).getName() for i in range(sheets.getCount())]
        notes: dict[str, dict[str, str]] = {}
        for name in names:
            sheet = sheets.getByName(name)
            annotations = sheet.getAnnotations()
            for i in range(annotations.getCount()):
                note = annotations.getByIndex(i)
                pos = note.getPosition()
                where = addr(pos.Column, pos.Row)
                notes.setdefault(name, {})[where] = note.getString()
        first = sheets.getByIndex(0)
        area = _used_area(first)
        texts: dict[str, str] = {}
        if area is not None:
            c0, r0, c1, r1 = area
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    text = first.getCellByPosition(c, r).getString()
                    if text:
                        texts[addr(c, r)] = text
    finally:
        _close(doc)
    return {"sheets": names, "notes": notes, "first_sheet": texts}


# ---------------------------------------------------------------------------

COMMANDS = {
    "inspect": cmd_inspect, "fill": cmd_fill, "fill_pdf": cmd_fill_pdf, "unprotect": cmd_unprotect,
    "save_xls": cmd_save_xls, "notes": cmd_notes,
}


def _on_sigterm(signum, frame):  # make `finally` clean up soffice
    raise SystemExit(128 + signum)


def _job(office: Office, request: dict) -> dict:
    """One request of the serve loop, answered with its result or {"error": ...}; never raises."""
    command, args = request.get("command"), [str(a) for a in request.get("args", [])]
    if command not in COMMANDS:
        return {"error": f"unknown command {command!r}"}
    try:
        if args and not Path(args[0]).is_file():
            raise DriverError(f"file not found: {args[0]}")
        t0 = time.monotonic()
        result = COMMANDS[command](office, args)
        result["timing"] = {"startup_s": 0.0, "job_s": round(time.monotonic() - t0, 2)}
        return result
    except DriverError as exc:
        return {"error": str(exc)}
    except Exception as exc:
        sys.stderr.write(traceback.format_exc())
        return {"error": _uno_msg(exc)}


def serve() -> int:
    """One soffice for many jobs: a JSON request per line on stdin, a JSON result per line on stdout.

    Starting soffice costs seconds; a test session sends every job here. A job that fails answers with
    its error and the office carries on; end of input (or {"command": "quit"}) shuts it down."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    office = Office()
    try:
        office.start()
        office.connect()
        sys.stdout.write(json.dumps({"ready": True}) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            request = json.loads(line)
            if request.get("command") == "quit":
                break
            sys.stdout.write(json.dumps(_job(office, request)) + "\n")
            sys.stdout.flush()
    except SystemExit:
        pass
    finally:
        office.shutdown()
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        return serve()
    if len(argv) < 1 or argv[0] not in COMMANDS:
        print(json.dumps({"error": "usage: lo_uno.py inspect FILE | fill IN OUT SPEC.json | "
                                   "unprotect IN OUT [PASSWORD]"}))
        return 1
    command, args = argv[0], argv[1:]
    signal.signal(signal.SIGTERM, _on_sigterm)
    office = None
    try:
        # validate cheap things before paying for a soffice start
        if command in ("inspect", "fill", "unprotect") and args and not Path(args[0]).is_file():
            raise DriverError(f"file not found: {args[0]}")
        try:
            import uno  # noqa: F401
        except ImportError as exc:
            raise DriverError(f"cannot import uno ({exc}); run with /usr/bin/python3 "
                              "and install python3-uno") from None
        office = Office()
        t0 = time.monotonic()
        office.start()
        office.connect()
        t1 = time.monotonic()
        result = COMMANDS[command](office, args)
        t2 = time.monotonic()
        result["timing"] = {"startup_s": round(t1 - t0, 2), "job_s": round(t2 - t1, 2)}
        status = 0
    except DriverError as exc:
        result, status = {"error": str(exc)}, 1
    except SystemExit as exc:
        result, status = {"error": f"interrupted (exit {exc.code})"}, 1
    except Exception as exc:
        sys.stderr.write(traceback.format_exc())
        result, status = {"error": _uno_msg(exc)}, 1
    finally:
        if office is not None:
            try:
                office.shutdown()
            except Exception:
                sys.stderr.write(traceback.format_exc())
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
