"""The ledger as the central team meets it: returns arriving over weeks, ingested again and again.

Every run is recorded; a file already judged is not read again; a file taken away is reported as withdrawn;
two runs at once, a run killed part-way, and a ledger from a newer release or a damaged one never leave
the ledger half-written or changed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlschedule import ingest as ingest_module
from xlschedule import layout, read
from xlschedule.consolidate import RESPONSE_COLUMNS
from xlschedule.ledger import SCHEMA_VERSION, Ledger
from xlschedule.model import Mode
from xlschedule.samples import answers

from conftest import ROOT, SCHEDULE_TOML, run_cli
from tables import table_rows
from test_ingest import make_return

LEDGER = "xlschedule-ledger.sqlite"
FILES_LINE = "Files: {} new, {} changed, {} unchanged, {} withdrawn ({} read, {} from the ledger)."


@pytest.fixture
def returns(tmp_path, schedule) -> Path:
    """Three accepted returns from two forces, in their own folder."""
    folder = tmp_path / "returns"
    folder.mkdir()
    make_return(folder, schedule, "K-1", seed=1)
    make_return(folder, schedule, "K-2", seed=2)
    make_return(folder, schedule, "E-1", force="Essex", mode=Mode.SCALE, seed=3)
    return folder


def ingest(folder: Path, out: Path, *more: str):
    return run_cli("ingest", str(folder), "--out", str(out), "--schedule", str(SCHEDULE_TOML), *more)


def files_line(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("Files: "))


def query(db: Path, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


def count_reads(monkeypatch) -> list[str]:
    """Every file the checker reads, by name (the runs here are small enough to stay in this process)."""
    seen: list[str] = []
    original = read.read_workbook

    def counting(path, *args, **kwargs):
        seen.append(Path(path).name)
        return original(path, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_workbook", counting)
    return seen


# --- a record of every run ---------------------------------------------------------------------------


def test_the_ledger_records_every_run_beside_the_workbook(tmp_path, returns):
    out = tmp_path / "out" / "consolidated.xlsx"
    out.parent.mkdir()
    first = ingest(returns, out, "--open-password", "not recorded")
    second = ingest(returns, out)
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    db = out.parent / LEDGER
    runs = query(db, "SELECT run_id, command, returns, accepted, files_new, files_unchanged, files_read, "
                     "finished_at <> '' FROM runs")
    assert runs == [(1, "ingest", 3, 3, 3, 0, 3, 1), (2, "ingest", 3, 3, 0, 3, 0, 1)]
    arguments = json.loads(query(db, "SELECT arguments FROM runs WHERE run_id = 1")[0][0])
    assert arguments["returns"] == [str(returns)] and arguments["open_password"] is True
    assert "not recorded" not in db.read_bytes().decode("latin-1")
    assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    statuses = query(db, "SELECT run_id, path, status, change, checked FROM files ORDER BY run_id, path")
    assert [row[1:] for row in statuses if row[0] == 2] == [
        (str(returns / f"{n}.xlsx"), "accepted", "unchanged", 0) for n in ("E-1", "K-1", "K-2")
    ]


def test_the_responses_view_and_iter_responses_are_the_csv(tmp_path, returns, schedule):
    make_return(returns, schedule, "Cumbria-1", force="Cumbria", mode=Mode.NARRATIVE, seed=4)
    make_return(returns, schedule, "bad", values={("1 Initial contact", "C9"): "Perhaps"})  # rejected: left out
    out = tmp_path / "consolidated.xlsx"
    for _ in range(2):  # the second run takes every return from the ledger
        result = ingest(returns, out, "--csv", str(tmp_path / "responses.csv"))
        assert result.exit_code == 1
    expected = csv_rows(tmp_path / "responses.csv")
    db = tmp_path / LEDGER
    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM responses")
    assert tuple(d[0] for d in cursor.description) == RESPONSE_COLUMNS == tuple(expected[0])
    as_text = [["" if v is None else str(v) for v in row] for row in cursor]
    conn.close()
    assert as_text == expected[1:] and len(as_text) == 4 * 118
    with Ledger.open(db) as ledger:
        streamed = [["" if v is None else str(v) for v in row] for row in ledger.iter_responses(2)]
        first = list(ledger.iter_responses(1))
    assert streamed == expected[1:]
    assert [["" if v is None else str(v) for v in row] for row in first] == expected[1:]


# --- incremental ----------------------------------------------------------------------------------------


def test_a_second_run_reads_only_the_new_file(tmp_path, returns, schedule, monkeypatch):
    out = tmp_path / "consolidated.xlsx"
    ingest(returns, out, "--csv", str(tmp_path / "before.csv"))
    make_return(returns, schedule, "K-3", seed=5)
    reads = count_reads(monkeypatch)
    result = ingest(returns, out, "--csv", str(tmp_path / "after.csv"))
    assert result.exit_code == 0, result.output
    assert reads == ["K-3.xlsx"]
    assert files_line(result.output) == FILES_LINE.format(1, 0, 3, 0, 1, 3)
    db = tmp_path / LEDGER
    assert query(db, "SELECT path FROM files WHERE run_id = 2 AND checked") == [(str(returns / "K-3.xlsx"),)]
    assert query(db, "SELECT files_new, files_unchanged, files_read FROM runs WHERE run_id = 2") == [(1, 3, 1)]
    # what came from the ledger consolidates exactly as if every file had been read again
    reads.clear()
    workbook = out.read_bytes()
    fresh = ingest(returns, out, "--fresh", "--csv", str(tmp_path / "fresh.csv"))
    assert out.read_bytes() == workbook
    assert sorted(reads) == ["E-1.xlsx", "K-1.xlsx", "K-2.xlsx", "K-3.xlsx"]
    assert files_line(fresh.output) == FILES_LINE.format(0, 0, 4, 0, 4, 0)
    assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "fresh.csv").read_bytes()
    assert len(csv_rows(tmp_path / "after.csv")) == len(csv_rows(tmp_path / "before.csv")) + 118
    assert result.output.replace(files_line(result.output), "") == fresh.output.replace(files_line(fresh.output), "")


def test_a_file_name_that_is_not_utf8_is_recorded_and_recognised(tmp_path, returns, schedule):
    """Linux allows any bytes in a file name: such a return is ingested, written everywhere with its odd byte
    as \\xe9, and recognised as unchanged next run."""
    odd = Path(os.fsdecode(bytes(returns) + b"/K-\xe9.xlsx"))
    try:
        (returns / "K-1.xlsx").rename(odd)
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take a file name that is not UTF-8")
    out, report, csv_path = tmp_path / "c.xlsx", tmp_path / "r.json", tmp_path / "c.csv"
    first = ingest(returns, out, "--report", str(report), "--csv", str(csv_path))
    second = ingest(returns, out)
    assert (first.exit_code, second.exit_code) == (0, 0), first.output + second.output
    assert "Traceback" not in first.output + second.output
    shown = str(returns) + "/K-\\xe9.xlsx"
    assert f"{shown}  Kent" in first.output  # the console says it as the files do
    assert files_line(second.output) == FILES_LINE.format(0, 0, 3, 0, 0, 3)
    assert shown in [r["file"] for r in json.loads(report.read_text(encoding="utf-8"))["returns"]]
    assert shown in {row[RESPONSE_COLUMNS.index("Source file")] for row in csv_rows(csv_path)}
    assert shown in {row["Source file"] for row in table_rows(out, "Responses")}
    assert query(tmp_path / LEDGER, "SELECT count(*) FROM files WHERE path = ?", shown) == [(2,)]


def test_a_changed_file_is_read_again_and_a_renamed_one_is_not(tmp_path, returns, schedule, monkeypatch):
    out = tmp_path / "consolidated.xlsx"
    ingest(returns, out)
    make_return(returns, schedule, "K-2", seed=9)  # saved again with other answers
    (returns / "E-1.xlsx").rename(returns / "Essex-1.xlsx")
    reads = count_reads(monkeypatch)
    result = ingest(returns, out)
    assert reads == ["K-2.xlsx"]
    assert files_line(result.output) == FILES_LINE.format(1, 1, 1, 1, 1, 2)
    assert query(tmp_path / LEDGER, "SELECT path, change FROM files WHERE run_id = 2 ORDER BY path") == [
        (str(returns / "E-1.xlsx"), "withdrawn"), (str(returns / "Essex-1.xlsx"), "new"),
        (str(returns / "K-1.xlsx"), "unchanged"), (str(returns / "K-2.xlsx"), "changed"),
    ]


def test_a_new_schedule_or_force_list_reads_every_file_again(tmp_path, returns, monkeypatch):
    out = tmp_path / "consolidated.xlsx"
    ingest(returns, out)
    toml = SCHEDULE_TOML.read_text(encoding="utf-8")
    other = tmp_path / "schedule.toml"
    other.write_text(toml.replace('"Kent",', '"Kent", "Atlantis",', 1), encoding="utf-8")
    assert other.read_text(encoding="utf-8") != toml
    reads = count_reads(monkeypatch)
    result = run_cli("ingest", str(returns), "--out", str(out), "--schedule", str(other))
    assert result.exit_code == 0, result.output
    assert sorted(reads) == ["E-1.xlsx", "K-1.xlsx", "K-2.xlsx"]
    assert files_line(result.output) == FILES_LINE.format(0, 0, 3, 0, 3, 0)


def test_duplicates_and_strict_are_settled_again_in_every_run(tmp_path, returns, schedule):
    shutil.copy(returns / "K-1.xlsx", returns / "K-1 copy.xlsx")
    make_return(returns, schedule, "gaps", values={("2 Assessment and help", "C9"): None})
    out = tmp_path / "consolidated.xlsx"
    outputs = [ingest(returns, out, "--strict").output for _ in range(2)]
    first, second = (o.replace(files_line(o), "") for o in outputs)
    assert first == second
    assert "duplicate-file" in first and "rejected-strict" in first
    assert files_line(outputs[1]) == FILES_LINE.format(0, 0, 5, 0, 0, 5)


def test_a_withdrawn_file_is_reported_and_listed_as_withdrawn(tmp_path, returns):
    out = tmp_path / "consolidated.xlsx"
    ingest(returns, out)
    (returns / "K-2.xlsx").unlink()
    report = tmp_path / "report.json"
    result = ingest(returns, out, "--report", str(report), "--csv", str(tmp_path / "responses.csv"))
    assert result.exit_code == 0, result.output  # nothing in this run is wrong: the file is simply gone
    gone = str(returns / "K-2.xlsx")
    assert any(line.startswith(gone) and "withdrawn" in line for line in result.output.splitlines())
    assert f"note: {gone}: withdrawn:" in result.output
    assert files_line(result.output) == FILES_LINE.format(0, 0, 2, 1, 0, 2)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert [(r["file"], r["status"]) for r in data["returns"] if r["status"] == "withdrawn"] == [(gone, "withdrawn")]
    assert data["counts"]["withdrawn"] == 1 and data["counts"]["returns"] == 2
    returns_sheet = table_rows(out, "Returns", first="File")
    assert [(row["File"], row["Force"]) for row in returns_sheet if row["Status"] == "withdrawn"] == [(gone, "Kent")]
    assert gone not in {row[8] for row in csv_rows(tmp_path / "responses.csv")}
    # reported once, by the run that found it gone; it comes back as new
    again = ingest(returns, out)
    assert files_line(again.output) == FILES_LINE.format(0, 0, 2, 0, 0, 2)
    shutil.copy(returns / "K-1.xlsx", returns / "K-2.xlsx")
    assert files_line(ingest(returns, out).output) == FILES_LINE.format(1, 0, 2, 0, 0, 3)


def test_a_file_outside_this_run_s_folders_is_not_withdrawn(tmp_path, returns, schedule):
    other = tmp_path / "other"
    other.mkdir()
    make_return(other, schedule, "D-1", force="Durham", seed=7)
    out = tmp_path / "consolidated.xlsx"
    ingest(other, out)
    result = ingest(returns, out)
    assert files_line(result.output) == FILES_LINE.format(3, 0, 0, 0, 3, 0)


def test_validate_records_nothing_unless_given_a_ledger(tmp_path, returns):
    before = set(tmp_path.rglob("*"))
    result = run_cli("validate", str(returns), "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 0 and "Files:" not in result.output
    assert set(tmp_path.rglob("*")) == before
    db = tmp_path / "checks.sqlite"
    result = run_cli("validate", str(returns), "--schedule", str(SCHEDULE_TOML), "--db", str(db))
    assert files_line(result.output) == FILES_LINE.format(3, 0, 0, 0, 3, 0)
    assert query(db, "SELECT command FROM runs") == [("validate",)]


# --- refused, and left as it is ----------------------------------------------------------------------


def _ledger_after_one_run(tmp_path: Path, returns: Path) -> Path:
    ingest(returns, tmp_path / "first.xlsx")
    return tmp_path / LEDGER


def refused(tmp_path: Path, returns: Path, db: Path, words: str) -> None:
    before = db.read_bytes()
    out = tmp_path / "refused.xlsx"
    result = ingest(returns, out, "--db", str(db))
    assert result.exit_code == 2, result.output
    assert f"error: {db}: " in result.output and words in result.output and "left as it is" in result.output
    assert "Traceback" not in result.output
    assert db.read_bytes() == before
    assert not out.exists()
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name)) == [db.name]


def test_a_ledger_from_a_newer_release_is_refused_untouched(tmp_path, returns):
    db = _ledger_after_one_run(tmp_path, returns)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    refused(tmp_path, returns, db, "newer release of xlschedule")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "page"])
def test_a_damaged_ledger_is_refused_untouched(tmp_path, returns, damage):
    db = _ledger_after_one_run(tmp_path, returns)
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    if damage == "garbage":
        data = bytearray(b"This is not a ledger at all, but a text file that was given its name." * 50)
    elif damage == "truncated":
        data = data[: len(data) // 2]
    else:  # a page of the database overwritten in the middle of the file
        middle = (len(data) // page // 2) * page
        data[middle:middle + page] = b"\xff" * page
    db.write_bytes(bytes(data))
    refused(tmp_path, returns, db, "damaged")


def test_another_application_s_database_is_refused_untouched(tmp_path, returns):
    db = tmp_path / "their.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE accounts (name TEXT)")
    conn.commit()
    conn.close()
    refused(tmp_path, returns, db, "not an xlschedule ledger")


# --- two runs at once, and a run killed part-way ------------------------------------------------------


#: A run of `xlschedule` that stops at one stage of its transaction (ledger._reached): it writes MARKER and
#: waits there until MARKER.go exists, so a test can kill it, or run another beside it, at a known point.
HELD_RUN = """
import os, sys, time
from pathlib import Path
from xlschedule import ledger
from xlschedule.cli import main

stage, marker = sys.argv[1], Path(sys.argv[2])

def hold(reached):
    if reached == stage:
        marker.write_text(str(os.getpid()), encoding="utf-8")
        while not Path(f"{marker}.go").exists():
            time.sleep(0.05)

ledger._reached = hold
sys.argv = ["xlschedule", *sys.argv[3:]]
main()
"""


def start(folder: Path, out: Path, *more: str, hold: str | None = None, marker: Path | None = None):
    """`xlschedule ingest` in its own process, optionally held at a stage of its run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = [sys.executable, "-c", HELD_RUN, hold, str(marker)] if hold else [sys.executable, "-m", "xlschedule"]
    args = [*run, "ingest", str(folder), "--out", str(out), "--schedule", str(SCHEDULE_TOML), *more]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(marker: Path, proc: subprocess.Popen) -> None:
    """Until the process has reached its hold (it writes the marker), or has ended without reaching it."""
    for _ in range(6000):  # a bound against a hang, not a timing assumption: the run takes a few seconds
        if marker.exists():
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it reached its hold: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run never reached its hold")


def content(db: Path) -> list[str]:
    """Everything the ledger holds, as SQL."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_second_run_stops_with_a_message_or_waits_while_the_first_holds_the_ledger(tmp_path, returns):
    out = tmp_path / "consolidated.xlsx"
    marker = tmp_path / "held"
    first = start(returns, out, hold="checked", marker=marker)
    try:
        wait_for(marker, first)
        before = (tmp_path / LEDGER).read_bytes()
        second = ingest(returns, tmp_path / "second.xlsx", "--db", str(tmp_path / LEDGER), "--wait", "0")
        assert second.exit_code == 2
        assert "another xlschedule run" in second.output and "Nothing was recorded" in second.output
        assert not (tmp_path / "second.xlsx").exists()
        assert (tmp_path / LEDGER).read_bytes() == before
        waiting = start(returns, tmp_path / "third.xlsx", "--db", str(tmp_path / LEDGER), "--wait", "600")
        Path(f"{marker}.go").touch()
        assert first.wait() == 0, first.communicate()
        assert waiting.wait() == 0, waiting.communicate()
    finally:
        for proc in (first,):
            if proc.poll() is None:
                proc.kill()
    assert query(tmp_path / LEDGER, "SELECT run_id, files_read, files_unchanged FROM runs") == [(1, 3, 0), (2, 0, 3)]
    assert query(tmp_path / LEDGER, "PRAGMA integrity_check") == [("ok",)]


def test_a_run_killed_part_way_leaves_the_ledger_as_it_was(tmp_path, returns, schedule):
    long = "Evidence, at length, as an inspector writes it. " * 40
    at_length = {key: long for key, value in answers(schedule, Mode.YESNO, 1).items()
                 if isinstance(value, str) and value.startswith("Sample evidence")}
    for n in range(8):  # enough answers that the run's writes outgrow SQLite's cache and reach the file
        make_return(returns, schedule, f"L-{n}", seed=10 + n, values=at_length)
    out = tmp_path / "consolidated.xlsx"
    assert ingest(returns, out).exit_code == 0
    db = tmp_path / LEDGER
    bytes_before, content_before, workbook_before = db.read_bytes(), content(db), out.read_bytes()
    marker = tmp_path / "held"
    run = start(returns, out, "--fresh", hold="checked", marker=marker)
    try:
        wait_for(marker, run)
        journal = Path(f"{db}-journal")
        assert journal.exists() and db.read_bytes() != bytes_before  # the run has written into the ledger
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    finally:
        if run.poll() is None:
            run.kill()
    assert content(db) == content_before  # opening it rolls the journal back
    assert db.read_bytes() == bytes_before and not journal.exists()
    assert out.read_bytes() == workbook_before
    result = ingest(returns, out)
    assert result.exit_code == 0 and files_line(result.output) == FILES_LINE.format(0, 0, 11, 0, 0, 11)
    assert [r[0] for r in query(db, "SELECT run_id FROM runs")] == [1, 2]


def test_a_run_killed_after_its_commit_leaves_the_run_complete_and_the_workbook_older(tmp_path, returns, schedule):
    out = tmp_path / "consolidated.xlsx"
    assert ingest(returns, out).exit_code == 0
    workbook_before = out.read_bytes()
    make_return(returns, schedule, "K-9", seed=9)
    marker = tmp_path / "held"
    run = start(returns, out, hold="committed", marker=marker)
    try:
        wait_for(marker, run)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
    finally:
        if run.poll() is None:
            run.kill()
    db = tmp_path / LEDGER
    assert query(db, "SELECT run_id, returns, files_new FROM runs") == [(1, 3, 3), (2, 4, 1)]
    assert out.read_bytes() == workbook_before  # the workbook of run 1: behind the ledger, never ahead
    assert query(db, "PRAGMA integrity_check") == [("ok",)]


# --- the console at scale ----------------------------------------------------------------------------


def test_findings_beyond_the_bound_are_counted_and_placed_not_printed(tmp_path, schedule):
    folder = tmp_path / "returns"
    folder.mkdir()
    no_evidence = {  # every item answered No with no evidence: a warning each
        (cell.sheet, cell.cell): "No" if cell.kind == "score" else None
        for cell in layout.input_cells(schedule, Mode.YESNO) if cell.kind in ("score", "evidence")
    }
    for n in range(2):
        make_return(folder, schedule, f"unexplained-{n}", values=no_evidence)
    out = tmp_path / "consolidated.xlsx"
    report = tmp_path / "report.json"
    result = ingest(folder, out, "--report", str(report))
    findings = json.loads(report.read_text(encoding="utf-8"))["returns"]
    total = sum(len(r["findings"]) for r in findings)
    assert total > 200
    lines = result.output.splitlines()
    shown = [line for line in lines if ": warning " in line or ": error " in line]
    assert len(shown) == 200
    assert (f"... and {total - 200} more findings, not shown here: every finding is in the Issues sheet of {out}, "
            f"the JSON report {report} and the ledger {tmp_path / LEDGER} (its issues view).") in lines
    assert len(table_rows(out, "Issues", first="File")) == total
    assert query(tmp_path / LEDGER, "SELECT count(*) FROM issues WHERE run_id = 1") == [(total,)]
