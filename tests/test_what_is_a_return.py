"""What ingest takes as a return: never a special file, never one of its own files, never a blank sent back.

A named pipe named on the command line, files in a folder that are named like workbooks but are not files,
the registry a build writes, a folder of feedback copies, the temporary files a stopped run left: each is
named in the run's output and none is read as a return (and nothing waits on a pipe). A return with
nothing answered is rejected as nothing-answered, so a force whose blank came straight back has not returned.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlschedule.feedback import SUMMARY_FILE, summary_text
from xlschedule.model import Mode

from conftest import SCHEDULE_TOML, blank_bytes, run_cli
from tables import table_rows
from test_ingest import make_return

#: Far longer than any of these runs takes: a run that waits on a pipe is stopped, and the test fails.
NEVER = 300


def run_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command line in its own process, so that a run blocked on a named pipe can be stopped."""
    try:
        return subprocess.run([sys.executable, "-m", "xlschedule", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=NEVER, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"xlschedule {' '.join(args)} never finished: it waited on something that is not a file")


def report_of(path: Path) -> dict[str, dict]:
    return {Path(r["file"]).name: r for r in json.loads(path.read_text(encoding="utf-8"))["returns"]}


# --- special files -------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_on_the_command_line_is_refused_unopened_and_the_run_goes_on(tmp_path, schedule):
    good = make_return(tmp_path, schedule, "good")
    pipe = tmp_path / "pipe.xlsx"
    os.mkfifo(pipe)
    result = run_process("ingest", str(pipe), str(good), "--out", str(tmp_path / "c.xlsx"), "--report",
                         str(tmp_path / "r.json"), "--schedule", str(SCHEDULE_TOML), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert f"{pipe}: error not-a-file: Not a file but a named pipe (FIFO)" in result.stdout
    returns = report_of(tmp_path / "r.json")
    assert returns["pipe.xlsx"]["status"] == "rejected" and returns["good.xlsx"]["status"] == "accepted"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_file_swapped_for_a_pipe_after_it_was_looked_at_is_refused_not_waited_on(tmp_path, schedule, monkeypatch):
    """The race the look before opening leaves: the file is a pipe by the time it is opened."""
    import signal

    from xlschedule import ingest

    pipe = tmp_path / "swapped.xlsx"
    os.mkfifo(pipe)
    monkeypatch.setattr(ingest, "what_it_is", lambda _path: None)  # it looked like a file a moment ago

    def waited(*_args):
        raise AssertionError("the read waited on a named pipe")

    previous = signal.signal(signal.SIGALRM, waited)
    signal.alarm(20)
    try:
        ret = ingest.check_return(pipe, schedule)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [f.code for f in ret.findings] == ["not-a-file"]
    assert "a named pipe (FIFO)" in ret.findings[0].message  # what it is when opened, as the look would say
    assert ret.status.value == "rejected"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_what_is_named_like_a_workbook_in_a_folder_but_is_no_file_is_named(tmp_path, schedule):
    """A pipe, a link to nothing, a link that loops and a folder named *.xlsx are each named for what they are;
    a link to a return is followed (read as the return); a link to a folder is not followed (it may loop)."""
    folder = tmp_path / "returns"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = make_return(elsewhere, schedule, "linked")
    os.mkfifo(folder / "pipe.xlsx")
    (folder / "gone.xlsx").symlink_to(tmp_path / "nothing-here.xlsx")
    (folder / "loop.xlsx").symlink_to(folder / "loop.xlsx")
    (folder / "unzipped.xlsx").mkdir()
    (folder / "link.xlsx").symlink_to(target)
    (folder / "more").symlink_to(folder)  # a loop, if it were followed
    result = run_process("ingest", str(folder), "--out", str(tmp_path / "c.xlsx"), "--report", str(tmp_path / "r.json"),
                         "--schedule", str(SCHEDULE_TOML), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"note: skipped {folder / 'pipe.xlsx'}: named like a workbook, but a named pipe (FIFO)" in out
    assert f"note: skipped {folder / 'gone.xlsx'}: named like a workbook, but a link to nothing" in out
    assert f"note: skipped {folder / 'loop.xlsx'}: named like a workbook, but a link that loops" in out
    assert f"note: {folder / 'unzipped.xlsx'}: a folder, not a workbook" in out
    assert f"note: skipped {folder / 'more'}: a link to a folder, not followed" in out
    assert list(report_of(tmp_path / "r.json")) == ["link.xlsx"]
    assert "1 of 1 return accepted" in out


# --- our own files -----------------------------------------------------------------------------------------


def test_the_registry_inside_the_build_folder_is_not_read_as_returns(tmp_path, schedule):
    """`build --out R` then `ingest R`: the registry's copy of the blank is no phantom return of Kent."""
    round_dir = tmp_path / "R"
    assert run_cli("build", "--schedule", str(SCHEDULE_TOML), "--force", "Kent", "--mode", "yesno",
                   "--out", str(round_dir)).exit_code == 0
    (round_dir / "Kent.xlsx").unlink()
    make_return(round_dir, schedule, "Kent-1")
    result = run_cli("ingest", str(round_dir), "--out", str(tmp_path / "c.xlsx"), "--report", str(tmp_path / "r.json"),
                     "--schedule", str(SCHEDULE_TOML), "--registry", str(round_dir / "xlschedule-registry"))
    assert result.exit_code == 0, result.output
    assert list(report_of(tmp_path / "r.json")) == ["Kent-1.xlsx"]
    assert (f"note: skipped {round_dir / 'xlschedule-registry'}: the registry of issued blanks (its blanks are not "
            "returns)") in result.output


def test_a_folder_of_feedback_copies_among_the_returns_is_not_read_as_returns(tmp_path, schedule):
    returns = tmp_path / "returns"
    returns.mkdir()
    make_return(returns, schedule, "K-1", values={("Cover", "B10"): None})  # a warning: it gets a copy
    feedback = returns / "feedback"
    first = run_cli("ingest", str(returns), "--out", str(tmp_path / "c.xlsx"), "--feedback", str(feedback),
                    "--schedule", str(SCHEDULE_TOML))
    assert first.exit_code == 0, first.output
    assert (feedback / "K-1-feedback.xlsx").is_file()
    again = run_cli("ingest", str(returns), "--out", str(tmp_path / "c.xlsx"), "--report", str(tmp_path / "r.json"),
                    "--schedule", str(SCHEDULE_TOML))
    assert list(report_of(tmp_path / "r.json")) == ["K-1.xlsx"]
    assert f"note: skipped {feedback}: a folder of feedback copies xlschedule wrote" in again.output


def test_ingest_knows_the_feedback_summary_as_feedback_writes_it():
    """ingest cannot import feedback (it imports ingest): the two spellings of the summary agree."""
    from xlschedule.ingest import FEEDBACK_HEAD, FEEDBACK_SUMMARY

    assert FEEDBACK_SUMMARY == SUMMARY_FILE
    assert summary_text([], __import__("datetime").date(2026, 1, 2)).startswith(FEEDBACK_HEAD)


def test_a_temporary_file_a_stopped_run_left_among_the_returns_is_named_not_read(tmp_path, schedule):
    returns = tmp_path / "returns"
    returns.mkdir()
    make_return(returns, schedule, "K-1")
    left = returns / ".K-2.xlsx.k3j_x9a2.tmp"
    left.write_bytes(b"")
    result = run_cli("validate", str(returns), "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 0, result.output
    assert f"note: skipped {left}: a temporary file xlschedule writes through" in result.output
    assert "1 of 1 return accepted" in result.output


def test_stale_temporary_files_beside_the_outputs_are_removed_and_others_are_left(tmp_path, schedule):
    """A run stopped after its commit leaves 0-byte temporary files beside its outputs: the next run removes
    those of its own outputs (and any in its --feedback folder) last changed before it began; a file of
    another name, or one being written now, is left."""
    returns = tmp_path / "returns"
    returns.mkdir()
    make_return(returns, schedule, "K-1")
    out, feedback = tmp_path / "out", tmp_path / "fb"
    out.mkdir()
    feedback.mkdir()
    stale = [out / ".c.xlsx.abcd1234.tmp", out / ".r.csv.zz_9x8y7.tmp", feedback / ".K-1-feedback.xlsx.a1b2c3d4.tmp"]
    other = out / ".notes.xlsx.abcd1234.tmp"  # not an output of this run
    current = out / ".c.xlsx.qwertyui.tmp"  # as if another run were writing it now
    for path in (*stale, other, current):
        path.write_bytes(b"")
    long_ago = time.time() - 3600
    for path in (*stale, other):
        os.utime(path, (long_ago, long_ago))
    result = run_cli("ingest", str(returns), "--out", str(out / "c.xlsx"), "--csv", str(out / "r.csv"),
                     "--feedback", str(feedback), "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 0, result.output
    assert [p.exists() for p in stale] == [False, False, False]
    assert other.exists() and current.exists()
    for path in stale:
        assert f"note: removed {path}: a temporary file left by an xlschedule run that was stopped" in result.output


# --- a blank sent back -------------------------------------------------------------------------------------


def test_an_untouched_blank_is_rejected_and_its_force_has_not_returned(tmp_path, schedule):
    """Essex sent its blank straight back; Kent answered one item. Essex's return is rejected as
    nothing-answered, and the Summary does not count it as Essex's accepted return."""
    returns = tmp_path / "returns"
    returns.mkdir()
    (returns / "Essex.xlsx").write_bytes(blank_bytes(schedule, "Essex", Mode.YESNO))
    one = returns / "Kent.xlsx"
    from io import BytesIO

    from openpyxl import load_workbook

    wb = load_workbook(BytesIO(blank_bytes(schedule, "Kent", Mode.YESNO)))
    wb["1 Initial contact"]["C6"] = "Yes"
    wb.save(one)
    out = tmp_path / "c.xlsx"
    result = run_cli("ingest", str(returns), "--out", str(out), "--report", str(tmp_path / "r.json"),
                     "--schedule", str(SCHEDULE_TOML))
    assert result.exit_code == 1, result.output
    reported = report_of(tmp_path / "r.json")
    assert reported["Essex.xlsx"]["status"] == "rejected"
    assert [f["code"] for f in reported["Essex.xlsx"]["findings"]] == [
        "missing-date-of-audit", "missing-return-reference", "missing-inspector", "nothing-answered",
    ]  # not a sheet's unanswered each
    assert reported["Kent.xlsx"]["status"] == "accepted"
    assert f"{returns / 'Essex.xlsx'}: error nothing-answered: Nothing is answered in this return" in result.output
    summary = {row["Force"]: row for row in table_rows(out, "Summary")}
    assert (summary["Essex"]["Accepted"], summary["Essex"]["Rejected"]) == (0, 1)
    assert summary["Essex"]["Position"] != summary["Kent"]["Position"]
    assert summary["Kent"]["Accepted"] == 1


@pytest.mark.parametrize("values, errors", [
    ({("Cover", "B9"): "K-1", ("Cover", "B10"): "A. Inspector"}, ["nothing-answered"]),  # the cover does not count
    ({("1 Initial contact", "C6"): "Perhaps"}, ["invalid-score"]),  # typed, refused: not "nothing answered"
    ({("1 Initial contact", "E6"): "Seen."}, []),  # evidence alone is an answer
])
def test_what_counts_as_nothing_answered(tmp_path, schedule, values, errors):
    from io import BytesIO

    from openpyxl import load_workbook

    from xlschedule.ingest import ingest

    wb = load_workbook(BytesIO(blank_bytes(schedule, "Kent", Mode.YESNO)))
    for (sheet, cell), value in values.items():
        wb[sheet][cell] = value
    wb.save(tmp_path / "r.xlsx")
    report = ingest([tmp_path / "r.xlsx"], schedule)
    assert [f.code for f in report.returns[0].errors()] == errors
