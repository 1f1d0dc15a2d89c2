"""The ledger's judgments are reused only while they are as recorded, and a file's record is of the bytes read.

A judgment edited in the SQLite file (an answer's evidence, a score, a status) no longer matches the digest
written with it: the file is read again, and the run says so. A file rewritten while it is being read never
gets one version's size with another's hash.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from test_ledger import LEDGER, count_reads, csv_rows, ingest, query
from xlschedule import ingest as ingest_module
from xlschedule import ledger as ledger_module
from xlschedule.ledger import SCHEMA_VERSION, RunRecorder, Seen
from xlschedule.model import Mode

from test_ingest import make_return


@pytest.fixture
def returns(tmp_path, schedule) -> Path:
    folder = tmp_path / "returns"
    folder.mkdir()
    make_return(folder, schedule, "K-1", seed=1)
    make_return(folder, schedule, "E-1", force="Essex", mode=Mode.SCALE, seed=3)
    make_return(folder, schedule, "bad", values={("1 Initial contact", "C9"): "Perhaps"})  # rejected
    return folder


def edit(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        assert conn.execute(sql).rowcount >= 1
    conn.close()


K1 = "(SELECT return_id FROM returns WHERE return_ref = 'K-1')"
EDITS = {
    "evidence": f"UPDATE answers SET evidence = 'FORGED EVIDENCE' WHERE return_id = {K1} AND ref = '1.1'",
    "score": f"UPDATE answers SET score = 'FORGED' WHERE return_id = {K1} AND ref = '1.1'",
    "status": "UPDATE returns SET status = 'accepted', errors = 0 WHERE return_ref = 'bad'",
    "finding": "DELETE FROM findings WHERE code = 'invalid-score'",
}


@pytest.mark.parametrize("what", sorted(EDITS))
def test_a_judgment_edited_in_the_ledger_is_not_reused(tmp_path, returns, monkeypatch, what):
    out = tmp_path / "c.xlsx"
    first = ingest(returns, out, "--csv", str(tmp_path / "first.csv"))
    assert first.exit_code == 1, first.output
    edit(tmp_path / LEDGER, EDITS[what])
    reads = count_reads(monkeypatch)
    again = ingest(returns, out, "--csv", str(tmp_path / "again.csv"))
    edited = "bad.xlsx" if what in ("status", "finding") else "K-1.xlsx"
    assert reads == [edited]
    assert (f"note: {returns / edited}: the ledger's record of its judgment was changed since it was recorded"
            in again.output)
    assert again.exit_code == 1, again.output  # "bad" is rejected again
    assert csv_rows(tmp_path / "again.csv") == csv_rows(tmp_path / "first.csv")
    assert "FORGED" not in (tmp_path / "again.csv").read_text(encoding="utf-8-sig")
    # judged afresh, the record is whole again, and the next run takes it from the ledger
    reads.clear()
    third = ingest(returns, out)
    assert reads == [] and "was changed since" not in third.output


def test_a_ledger_of_schema_1_is_migrated_and_its_judgments_are_checked_once_read_again(tmp_path, returns,
                                                                                        monkeypatch):
    out = tmp_path / "c.xlsx"
    ingest(returns, out)
    db = tmp_path / LEDGER
    conn = sqlite3.connect(db)  # as release 1 of the schema left it: no digest
    conn.execute("ALTER TABLE returns DROP COLUMN digest")
    conn.execute("ALTER TABLE findings DROP COLUMN problem")
    conn.execute("ALTER TABLE findings DROP COLUMN fix")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    reads = count_reads(monkeypatch)
    again = ingest(returns, out)
    assert sorted(reads) == ["E-1.xlsx", "K-1.xlsx", "bad.xlsx"]
    assert "note: 3 file(s) judged by a release whose ledger kept no digest of its judgments were read again" in (
        again.output)
    assert query(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(3,)]
    assert query(db, "SELECT count(*) FROM returns WHERE digest IS NULL") == [(0,)]
    reads.clear()
    ingest(returns, out)
    assert reads == []


def test_a_ledger_of_schema_2_is_migrated_and_its_judgments_are_reused_with_their_digests(tmp_path, returns,
                                                                                        monkeypatch):
    """Schema 3 keeps a finding's problem and fix apart; a judgment of schema 2 (message only) keeps its digest,
    so it is reused, its message whole."""
    out = tmp_path / "c.xlsx"
    first = ingest(returns, out)
    db = tmp_path / LEDGER
    conn = sqlite3.connect(db)  # as schema 2 left it: no problem and fix, and digests made without them
    conn.execute("ALTER TABLE findings DROP COLUMN problem")
    conn.execute("ALTER TABLE findings DROP COLUMN fix")
    for (return_id,) in conn.execute("SELECT return_id FROM returns").fetchall():
        digest = RunRecorder.digest(SimpleNamespace(conn=conn), return_id)  # type: ignore[arg-type]
        conn.execute("UPDATE returns SET digest = ? WHERE return_id = ?", (digest, return_id))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    reads = count_reads(monkeypatch)
    again = ingest(returns, out)
    assert reads == [] and "was changed since" not in again.output
    assert [line for line in again.output.splitlines() if ": error " in line] == [
        line for line in first.output.splitlines() if ": error " in line]
    assert query(db, "PRAGMA user_version") == [(3,)]


def _race(before: bytes, after: bytes):
    """Whether `size` and `sha256` are the size and hash of one of the two versions of the file."""
    versions = {hashlib.sha256(data).hexdigest(): len(data) for data in (before, after)}

    def same_bytes(size: int | None, sha: str | None) -> bool:
        return sha in versions and size in (versions[sha], None)

    return same_bytes


def test_a_file_rewritten_between_its_stat_and_its_read_has_the_size_of_the_bytes_hashed(tmp_path, schedule,
                                                                                          monkeypatch):
    path = make_return(tmp_path, schedule, "K-1", seed=1)
    before = path.read_bytes()
    (tmp_path / "other").mkdir()
    after = make_return(tmp_path / "other", schedule, "K-1", seed=7).read_bytes()
    assert len(after) != len(before)
    real_path_stat, real_fstat = Path.stat, os.fstat
    fired = []

    def rewrite_once() -> None:
        if not fired:
            fired.append(True)
            path.write_bytes(after)  # the same file, truncated and written again

    def path_stat(self, *args, **kwargs):
        result = real_path_stat(self, *args, **kwargs)
        if self == path:
            rewrite_once()
        return result

    def fstat(fd):
        result = real_fstat(fd)
        rewrite_once()
        return result

    monkeypatch.setattr(Path, "stat", path_stat)
    monkeypatch.setattr(ledger_module.os, "fstat", fstat)
    seen = Seen.of(path)
    assert fired
    assert seen.sha256 == hashlib.sha256(after).hexdigest() and seen.size == len(after)


def test_a_file_rewritten_between_its_hashing_and_its_checking_is_recorded_as_the_bytes_judged(
        tmp_path, returns, schedule, monkeypatch):
    """The ledger hashes a file to look it up, then the checker reads it: rewritten in between, the run
    records the hash of what was judged (never with the other version's size), and says so."""
    path = returns / "K-1.xlsx"
    before = path.read_bytes()
    after = make_return(tmp_path, schedule, "elsewhere", seed=7).read_bytes()
    real = ingest_module.read_workbook

    def rewritten_first(file, *args, **kwargs):
        if Path(file) == path and path.read_bytes() == before:
            path.write_bytes(after)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(ingest_module, "read_workbook", rewritten_first)
    result = ingest(returns, tmp_path / "c.xlsx")
    same_bytes = _race(before, after)
    [(size, sha, judged)] = query(
        tmp_path / LEDGER, "SELECT f.size, f.sha256, r.sha256 FROM files f JOIN returns r USING (return_id) "
                           "WHERE f.path = ?", str(path))
    assert same_bytes(size, sha) and sha == judged == hashlib.sha256(after).hexdigest()
    assert f"note: {path}: it changed while this run read it" in result.output
