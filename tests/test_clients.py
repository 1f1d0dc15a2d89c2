"""Returns as Excel and its neighbours really save them (issue 12): each built from a genuine filled return by
the smallest XML change that reproduces what the client writes (tests/clients.py), ingested through the
command line, with every value intact or the right finding named.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest

from xlschedule import layout
from xlschedule.ingest import NO_REGISTRY_NOTE
from xlschedule.model import COVER_SHEET, Mode

import clients
from conftest import run_cli
from hostile import rezip, write
from tables import table_rows
from test_ingest import make_return

AUDIT_DATE = date(2026, 11, 20)  # not the good return's own date, so a date read wrongly shows


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory, schedule) -> bytes:
    """A good Kent return in yes/no mode, filled once for this module."""
    return make_return(tmp_path_factory.mktemp("made"), schedule, "Kent-good", ref="K-good").read_bytes()


class Run:
    """One `xlschedule ingest` of one file: what it printed, its JSON report, its Responses and CSV rows."""

    def __init__(self, folder: Path, data: bytes, *extra: str, name: str = "Kent-client.xlsx") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = write(folder, name, data)
        out, report, csv_path = folder / "c.xlsx", folder / "r.json", folder / "r.csv"
        self.result = run_cli("ingest", str(self.path), "--out", str(out), "--report", str(report),
                              "--csv", str(csv_path), *extra)
        assert "Traceback" not in self.result.output
        self.report = json.loads(report.read_text(encoding="utf-8"))
        [self.ret] = self.report["returns"]
        self.findings = [(f["sheet"], f["cell"], f["code"]) for f in self.ret["findings"]]
        self.rows: list[dict] = []
        self.csv_rows: list[dict] = []
        if out.exists():
            self.rows = table_rows(out, "Responses")
            with csv_path.open(encoding="utf-8-sig", newline="") as fh:
                self.csv_rows = list(csv.DictReader(fh))
        self.out = out

    def message(self, code: str) -> str:
        return next(f["message"] for f in self.ret["findings"] if f["code"] == code)

    def values(self) -> dict[str, tuple]:
        """Each ref's score, policy fit and evidence in the consolidation."""
        return {r["Ref"]: (r["Score"], r["Policy fit"], r["Evidence"]) for r in self.rows}


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, good_bytes) -> Run:
    run = Run(tmp_path_factory.mktemp("good"), good_bytes)
    assert run.ret["status"] == "accepted" and run.findings == []
    return run


def evidence_cell(schedule, good_run: Run, index: int = 0) -> tuple[str, str, str]:
    """(sheet, cell, ref) of the evidence of the first item of the index-th step scored Yes in the good
    return (so that its evidence going missing is no low score without evidence)."""
    section = schedule.steps[index]
    scores = {ref: score for ref, (score, _policy, _evidence) in good_run.values().items()}
    row = next(r for r in layout.answer_rows(section, Mode.YESNO)[1:] if scores[r.ref] == "Yes")
    return row.sheet, row.evidence, row.ref


# --- 1. Strict Open XML ------------------------------------------------------------------------


def test_strict_open_xml_is_read_as_what_it_is(tmp_path, good_bytes, good_run):
    strict = clients.strict(good_bytes, AUDIT_DATE)
    with zipfile.ZipFile(io.BytesIO(strict)) as zf:  # the generator really wrote a strict package
        workbook = zf.read("xl/workbook.xml")
        assert b"http://purl.oclc.org/ooxml/spreadsheetml/main" in workbook and b"openxmlformats" not in workbook
    run = Run(tmp_path, strict)
    assert run.ret["status"] == "accepted" and run.findings == [], run.result.output
    assert (run.ret["force"], run.ret["return_ref"], run.ret["date"]) == ("Kent", "K-good", AUDIT_DATE.isoformat())
    assert run.values() == good_run.values()


# --- 4. 1904 workbooks -------------------------------------------------------------------------


@pytest.mark.parametrize("date_style", [False, True], ids=["bare-number", "date-style"])
def test_a_1904_workbook_gives_the_date_of_audit_in_its_own_date_system(tmp_path, good_bytes, good_run, date_style):
    run = Run(tmp_path, clients.date_system_1904(good_bytes, AUDIT_DATE, date_style))
    assert run.ret["status"] == "accepted" and run.findings == [], run.result.output
    assert run.ret["date"] == AUDIT_DATE.isoformat()
    assert run.values() == good_run.values()


# --- 3. =TODAY() as the date of audit ----------------------------------------------------------


def test_today_as_the_date_of_audit_uses_its_value_and_says_it_will_change(tmp_path, good_bytes, good_run):
    data = clients.formula_date(good_bytes, "TODAY()", AUDIT_DATE)
    run = Run(tmp_path / "plain", data)
    assert run.ret["status"] == "accepted"
    assert run.findings == [(COVER_SHEET, layout.cover_cell("date"), "volatile-date")]
    assert run.ret["date"] == AUDIT_DATE.isoformat()
    message = run.message("volatile-date")
    assert "TODAY()" in message and "every time the file is opened" in message and AUDIT_DATE.isoformat() in message
    assert run.values() == good_run.values()

    strict = Run(tmp_path / "strict", data, "--strict")
    assert strict.ret["status"] == "rejected"
    assert [code for *_where, code in strict.findings] == ["volatile-date", "rejected-strict"]


def test_a_date_formula_that_does_not_change_is_read_without_a_warning(tmp_path, good_bytes):
    run = Run(tmp_path, clients.formula_date(good_bytes, "DATE(2026,11,20)", AUDIT_DATE))
    assert run.ret["status"] == "accepted" and run.findings == []
    assert run.ret["date"] == AUDIT_DATE.isoformat()


# --- 2. Errors and pictures as evidence --------------------------------------------------------


@pytest.mark.parametrize("what", ["error", "picture"])
def test_an_error_or_a_picture_in_evidence_is_named_and_not_consolidated(tmp_path, schedule, good_bytes, good_run,
                                                                         what):
    sheet, cell, ref = evidence_cell(schedule, good_run, 2)
    if what == "error":
        data, shown = clients.error_value(good_bytes, sheet, cell, "#N/A"), "#N/A"
    else:
        data, shown = clients.picture_in_cell(good_bytes, sheet, cell), "picture"
    run = Run(tmp_path, data)
    assert run.ret["status"] == "accepted"
    assert run.findings == [(sheet, cell, "evidence-not-text")]
    assert shown in run.message("evidence-not-text")
    got, want = run.values(), good_run.values()
    assert got[ref] == (*want[ref][:2], "")  # an empty cell, as calamine reads one
    assert {k: v for k, v in got.items() if k != ref} == {k: v for k, v in want.items() if k != ref}
    assert next(r for r in run.csv_rows if r["Ref"] == ref)["Evidence"] == ""
    assert "#VALUE!" not in json.dumps(run.rows) and "#N/A" not in json.dumps(run.rows)


# --- 5. Booleans and line breaks ---------------------------------------------------------------


@pytest.mark.parametrize("value, spelt", [(True, "TRUE"), (False, "FALSE")])
def test_a_boolean_typed_as_evidence_keeps_the_inspectors_spelling(tmp_path, schedule, good_bytes, good_run, value,
                                                                   spelt):
    sheet, cell, ref = evidence_cell(schedule, good_run, 3)
    run = Run(tmp_path, clients.typed_boolean(good_bytes, sheet, cell, value))
    assert run.ret["status"] == "accepted" and run.findings == []
    assert run.values()[ref][2] == spelt
    assert next(r for r in run.csv_rows if r["Ref"] == ref)["Evidence"] == spelt


def test_windows_line_breaks_in_evidence_survive_in_every_output(tmp_path, schedule, good_bytes, good_run):
    sheet, cell, ref = evidence_cell(schedule, good_run, 4)
    lines = ["Seen in the custody record.", "Checked with the sergeant.", "_x0041_ kept as typed."]
    run = Run(tmp_path, clients.windows_text(good_bytes, sheet, cell, lines))
    assert run.ret["status"] == "accepted" and run.findings == []
    assert run.values()[ref][2] == "\r\n".join(lines)  # the consolidated workbook, as Excel reads it
    assert next(r for r in run.csv_rows if r["Ref"] == ref)["Evidence"] == "\r\n".join(lines)


# --- 6. Messages that say what is there --------------------------------------------------------


def test_xlsm_with_no_macros_is_told_to_save_as_xlsx(tmp_path, good_bytes):
    run = Run(tmp_path, clients.xlsm_without_macros(good_bytes), name="Kent-client.xlsm")
    assert [code for *_where, code in run.findings] == ["macro-enabled-format"]
    message = run.message("macro-enabled-format")
    assert "no macros" in message and "Excel Workbook (.xlsx)" in message and "fresh blank" not in message


@pytest.mark.parametrize("application, steps, not_steps", [
    ("LibreOffice/24.2.7.2$Linux_X86_64 LibreOffice_project/420$Build-2", "Excel 2007-365 (.xlsx)", "Excel Workbook"),
    ("Microsoft Excel", "Excel Workbook (.xlsx)", "LibreOffice"),
])
def test_xlsm_is_told_how_to_save_as_xlsx_in_the_application_that_saved_it(tmp_path, good_bytes, application,
                                                                              steps, not_steps):
    """docProps/app.xml names the application that saved it: the fix gives that application's steps only."""
    def saved_by(name: str, data: bytes) -> bytes:
        if name == "docProps/app.xml":
            new = re.sub(rb"<Application>[^<]*</Application>", f"<Application>{application}</Application>".encode(),
                         data)
            assert new != data
            return new
        return data

    data = rezip(clients.xlsm_without_macros(good_bytes), saved_by)
    run = Run(tmp_path, data, name="Kent-client.xlsm")
    message = run.message("macro-enabled-format")
    client = application.split("/")[0].replace("Microsoft ", "")
    assert f"saved by {client} as a macro-enabled workbook" in message
    assert steps in message and not_steps not in message, message


def test_label_encryption_is_named_and_no_password_is_asked_for(tmp_path, good_bytes):
    data = clients.label_encrypted(good_bytes)
    for extra in ((), ("--open-password", "anything")):
        run = Run(tmp_path / str(len(extra)), data, *extra)
        assert [code for *_where, code in run.findings] == ["label-encrypted"]
        message = run.message("label-encrypted")
        assert "sensitivity label" in message and "remove the label's encryption" in message


def test_a_password_encrypted_return_is_still_told_apart_from_a_label(tmp_path, good_bytes):
    from hostile import encrypt

    run = Run(tmp_path, encrypt(good_bytes, "s3cret"))
    assert [code for *_where, code in run.findings] == ["encrypted"]


# --- 7. What clients change in the metadata sheet ----------------------------------------------


@pytest.mark.parametrize(
    "client, state, locked, changes",
    [("gnumeric", None, False, ["metadata-sheet-shown", "structure-unlocked"]),
     ("libreoffice", "hidden", False, ["metadata-sheet-shown", "structure-unlocked"]),
     ("unhidden-only", "hidden", True, ["metadata-sheet-shown"])],
)
def test_a_metadata_sheet_a_client_unhid_is_accepted_with_a_note(tmp_path, good_bytes, good_run, client, state, locked,
                                                                 changes):
    run = Run(tmp_path, clients.metadata_sheet_as(good_bytes, state, locked))
    assert run.ret["status"] == "accepted" and run.findings == [], run.result.output
    assert run.values() == good_run.values()
    assert run.ret["client_changes"] == changes
    [note] = [n for n in run.report["notes"] if n != NO_REGISTRY_NOTE]  # the run's own note aside
    assert note.startswith("1 return was saved by an application the file does not name, which shows the "
                           "'_xlschedule' sheet (very hidden in the blank)"), note
    assert ("structure" in note) is (not locked)
    assert f"note: {note} (each is named in the Returns sheet of {run.out} and the JSON report" in run.result.output


def test_returns_a_client_changed_are_counted_in_one_line_each_named_in_the_json_and_the_returns_sheet(
        tmp_path, good_bytes, schedule):
    """Three returns LibreOffice saved (the metadata sheet hidden, the structure lock dropped, as it saves them)
    and one untouched: one line counts the three, on the first run and on a run from the ledger."""
    def by_libreoffice(name: str, data: bytes) -> bytes:
        if name == "docProps/app.xml":
            return re.sub(rb"<Application>[^<]*</Application>",
                          b"<Application>LibreOffice/24.2.7.2$Linux_X86_64</Application>", data)
        return data

    folder = tmp_path / "returns"
    folder.mkdir()
    (tmp_path / "made").mkdir()
    saved = []
    for i in range(3):
        made = make_return(tmp_path / "made", schedule, f"Kent-lo-{i}", ref=f"K-lo-{i}", seed=i).read_bytes()
        saved.append(write(folder, f"Kent-lo-{i}.xlsx", rezip(clients.metadata_sheet_as(made, "hidden", False),
                                                               by_libreoffice)))
    write(folder, "Kent-good.xlsx", good_bytes)
    out, report = tmp_path / "c.xlsx", tmp_path / "r.json"
    line = ("note: 3 returns were saved by LibreOffice, which shows the '_xlschedule' sheet (very hidden in the blank) "
            "and drops the lock on the workbook's structure; the content checks would show any edit, so this alone "
            f"rejects none (each is named in the Returns sheet of {out} and the JSON report {report})")
    for run in ("read", "from the ledger"):
        result = run_cli("ingest", str(folder), "--out", str(out), "--report", str(report))
        assert result.exit_code == 0, result.output
        notes = [n for n in result.output.splitlines() if n.startswith("note: ") and "registry" not in n]
        assert notes == [line], (run, result.output)
        data = json.loads(report.read_text(encoding="utf-8"))
        changed = {Path(r["file"]).name: (r["saved_by"], r["client_changes"]) for r in data["returns"]}
        assert changed == {**{p.name: ("LibreOffice", ["metadata-sheet-shown", "structure-unlocked"]) for p in saved},
                           "Kent-good.xlsx": (None, [])}
        rows = {Path(r["File"]).name: (r["Saved by"], r["Application changes"])
                for r in table_rows(out, "Returns", first="File")}
        assert rows == {**{p.name: ("LibreOffice", "metadata-sheet-shown, structure-unlocked") for p in saved},
                        "Kent-good.xlsx": ("Not known", "None")}
    assert "(0 read, 4 from the ledger)" in result.output


def test_an_untouched_return_has_no_note(good_run):
    assert [n for n in good_run.report["notes"] if n != NO_REGISTRY_NOTE] == []
