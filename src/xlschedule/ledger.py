"""The ledger: every ingest run recorded in one SQLite file, and the judgments later runs reuse.

A run writes everything it learns inside one transaction (BEGIN IMMEDIATE ... COMMIT): the run, each file
it saw, each return's findings and answers. A run that dies part-way (Ctrl-C, a full disk, `kill -9`)
leaves the ledger as it was before it; a second run on the same ledger waits for the first (up to its
`wait`) or stops with a message. The journal is SQLite's rollback journal, not WAL: the ledger stays one
file between runs (to copy and keep with the round's records), its header always holds its true schema
version, and it works on the network shares an output folder may live on, where WAL does not.

Schema (PRAGMA user_version = SCHEMA_VERSION, PRAGMA application_id = APPLICATION_ID):

- `runs`: one row per completed run: when, the tool and schedule versions, the arguments, the counts.
- `returns`: one row per judgment of a file's bytes (SHA-256) against a template (the schedule and its
  forces) by a tool version: what was read from it and whether, on its own, it is accepted. A later run
  that meets the same bytes, template and tool version takes the judgment from here instead of reading
  the file again.
  Each has a digest: SHA-256 of the judgment as stored (its row, findings and answers), written with it and
  checked before it is reused, so a hand edit is noticed and its file read again (schema 2; a row of
  schema 1 has none, and its file is read again). Not a keyed MAC: it catches accidents, not forgery.
- `answers`: the answers of each judged return, one row per item or judgment, in the consolidation's order.
- `findings`: each return's own findings (`return_id`), and those a run adds to a file (`file_id`:
  duplicates, --strict): its message, and (schema 3) its problem and fix apart.
- `files`: one row per file per run: the path as given and resolved, size, mtime, SHA-256, the judgment
  it has, its status in that run (accepted, rejected, duplicate, withdrawn), and whether it was new,
  changed or unchanged since the ledger last saw that path, or withdrawn (gone from the folder).
- views `responses` (the latest run's answers, with exactly the columns of the responses CSV),
  `run_responses` (every run's, with a Run column first) and `issues` (every run's findings).

Migrations run forward only: MIGRATIONS[v] takes a ledger from version v to v + 1. A ledger from a newer
release, a damaged one, or another application's database is refused and left as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from . import __version__
from .errors import InputError
from .model import Finding, ItemStatus, Mode, Response, Return, ReturnStatus, Schedule, Severity
from .packager import storable, storable_json
from .report import FileCounts

SCHEMA_VERSION = 3
APPLICATION_ID = 0x786C7363  # "xlsc"
DEFAULT_NAME = "xlschedule-ledger.sqlite"
#: Seconds a run waits for another run that holds the ledger before it stops.
DEFAULT_WAIT = 30.0
_MAGIC = b"SQLite format 3\x00"
#: Findings that depend on more than the file's bytes (the password given, a bug, what the registry knew): never reused.
NOT_REUSED = {"encrypted", "wrong-open-password", "unexpected-error", "unknown-template", "other-schedule-version"}

_V1 = [
    """CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,           -- ISO 8601, UTC
        finished_at TEXT NOT NULL,
        command TEXT NOT NULL,              -- ingest or validate
        tool_version TEXT NOT NULL,
        schedule_id TEXT NOT NULL,
        schedule_version TEXT NOT NULL,
        schedule_fingerprint TEXT NOT NULL,
        template TEXT NOT NULL,             -- what returns were judged against: schedule and forces
        arguments TEXT NOT NULL,            -- JSON; a password is recorded only as given or not
        fresh INTEGER NOT NULL,
        strict INTEGER NOT NULL,
        files_new INTEGER NOT NULL, files_changed INTEGER NOT NULL, files_unchanged INTEGER NOT NULL,
        files_withdrawn INTEGER NOT NULL, files_read INTEGER NOT NULL,
        returns INTEGER NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
        duplicates INTEGER NOT NULL, errors INTEGER NOT NULL, warnings INTEGER NOT NULL
    )""",
    """CREATE TABLE returns (
        return_id INTEGER PRIMARY KEY,
        sha256 TEXT,                        -- of the file's bytes; NULL if it could not be read
        template TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        reusable INTEGER NOT NULL,          -- 0: depends on more than the bytes (a password, a crash)
        judged_in INTEGER NOT NULL REFERENCES runs(run_id),
        force TEXT, mode TEXT, schedule_version TEXT, return_ref TEXT, inspector TEXT, date TEXT,
        release TEXT,                       -- the xlschedule release that built its blank
        status TEXT NOT NULL,               -- accepted or rejected, on its own
        answered INTEGER NOT NULL, responses INTEGER NOT NULL,
        errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
        notes TEXT NOT NULL                 -- JSON list of what a client changed
    )""",
    "CREATE UNIQUE INDEX returns_key ON returns(sha256, template, tool_version) WHERE sha256 IS NOT NULL",
    """CREATE TABLE answers (
        answer_id INTEGER PRIMARY KEY,      -- in the consolidation's order within a return
        return_id INTEGER NOT NULL REFERENCES returns(return_id),
        seq INTEGER NOT NULL,               -- the order it was read in
        section TEXT NOT NULL, section_label TEXT NOT NULL, ref TEXT NOT NULL, item TEXT NOT NULL,
        sheet TEXT NOT NULL, score TEXT, policy TEXT,
        evidence TEXT,                      -- inspectors' evidence: as sensitive as the returns
        score_cell TEXT, policy_cell TEXT, evidence_cell TEXT NOT NULL,
        schedule_version TEXT, release TEXT,   -- the version and release the return was built from
        status TEXT NOT NULL,               -- current, carried, reworded, removed or not asked
        worded_as TEXT, asked TEXT,         -- the version whose wording was answered, and that wording
        asked_ref TEXT                      -- the ref it was asked under, where [changes] renamed it
    )""",
    "CREATE INDEX answers_return ON answers(return_id)",
    """CREATE TABLE files (
        file_id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(run_id),
        path TEXT NOT NULL,                 -- as given on the command line or found in a folder
        resolved TEXT NOT NULL,             -- absolute: how runs recognise the same path
        size INTEGER, mtime TEXT, sha256 TEXT,
        return_id INTEGER REFERENCES returns(return_id),
        status TEXT NOT NULL,               -- accepted, rejected, duplicate or withdrawn in this run
        change TEXT NOT NULL,               -- new, changed, unchanged or withdrawn
        checked INTEGER NOT NULL,           -- 1: read in this run; 0: judgment taken from the ledger
        errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
        answered INTEGER NOT NULL, responses INTEGER NOT NULL,
        ordinal INTEGER NOT NULL            -- place in the consolidation: force, return reference, file
    )""",
    "CREATE INDEX files_run ON files(run_id, ordinal)",
    "CREATE INDEX files_resolved ON files(resolved, file_id)",
    """CREATE TABLE findings (
        finding_id INTEGER PRIMARY KEY,
        return_id INTEGER REFERENCES returns(return_id),  -- the return's own
        file_id INTEGER REFERENCES files(file_id),                        -- added by a run
        code TEXT NOT NULL, severity TEXT NOT NULL, sheet TEXT, cell TEXT, message TEXT NOT NULL,
        CHECK ((return_id IS NULL) <> (file_id IS NULL))
    )""",
    "CREATE INDEX findings_return ON findings(return_id)",
    "CREATE INDEX findings_file ON findings(file_id)",
    """CREATE VIEW run_responses AS
        SELECT f.run_id AS "Run", r.force AS "Force", r.return_ref AS "Return", a.section_label AS "Section",
               a.ref AS "Ref", a.item AS "Item",
               CASE WHEN a.score GLOB '[0-9]*' AND a.score NOT GLOB '*[^0-9]*'
                    THEN CAST(a.score AS INTEGER) ELSE a.score END AS "Score",
               a.policy AS "Policy fit", a.evidence AS "Evidence", f.path AS "Source file",
               COALESCE(a.score_cell, a.evidence_cell) AS "Cell",
               a.schedule_version AS "Schedule version", a.release AS "Release", a.status AS "Item status",
               a.worded_as AS "Wording answered"
        FROM files f JOIN returns r ON r.return_id = f.return_id JOIN answers a ON a.return_id = f.return_id
        WHERE f.status = 'accepted'
        ORDER BY f.run_id, f.ordinal, a.answer_id""",
    """CREATE VIEW responses AS
        SELECT "Force", "Return", "Section", "Ref", "Item", "Score", "Policy fit", "Evidence", "Source file", "Cell",
               "Schedule version", "Release", "Item status", "Wording answered"
        FROM run_responses WHERE "Run" = (SELECT MAX(run_id) FROM runs)""",
    """CREATE VIEW issues AS
        SELECT run_id, file, sheet, cell, code, severity, message FROM (
            SELECT f.run_id, f.path AS file, x.sheet, x.cell, x.code, x.severity, x.message,
                   f.file_id, 0 AS added, x.finding_id
            FROM files f JOIN findings x ON x.return_id = f.return_id WHERE f.status <> 'withdrawn'
            UNION ALL
            SELECT f.run_id, f.path, x.sheet, x.cell, x.code, x.severity, x.message, f.file_id, 1, x.finding_id
            FROM files f JOIN findings x ON x.file_id = f.file_id
        ) ORDER BY run_id, file_id, added, finding_id""",
]
_V2 = [
    # SHA-256 of the judgment as stored (see RunRecorder.digest): a judgment is reused only while it matches.
    # Rows of schema 1 have none, so their files are read again.
    "ALTER TABLE returns ADD COLUMN digest TEXT",
]
_V3 = [
    # A finding's problem and fix, kept apart (the message is the two as one line). NULL in rows of schema 2,
    # whose message is then all problem; left out of the digest while NULL (see DIGEST_LATE).
    "ALTER TABLE findings ADD COLUMN problem TEXT",
    "ALTER TABLE findings ADD COLUMN fix TEXT",
]
#: MIGRATIONS[v] takes a ledger at user_version v to v + 1 (0 is an empty database).
MIGRATIONS: list[list[str]] = [_V1, _V2, _V3]
#: Columns added after judgments had digests: left out of a digest where every row has them NULL, so a judgment
#: recorded before they were added keeps its digest.
DIGEST_LATE = {"problem", "fix"}
TABLES = {"runs", "returns", "answers", "files", "findings"}


def _client_record(ret: Return) -> dict[str, Any]:
    """What the returns table's `notes` holds: what the application that saved the file changed, which, and
    the return's own notes."""
    return {"saved_by": ret.saved_by, "client_changes": ret.client_changes, "notes": ret.notes}


def _client_fields(stored: Any) -> dict[str, Any]:
    """A Return's fields from `notes` as _client_record wrote it, or as a list of notes (written before)."""
    if isinstance(stored, list):
        return {"notes": stored}
    return {"saved_by": stored.get("saved_by"), "client_changes": stored.get("client_changes", []),
            "notes": stored.get("notes", [])}


class LedgerError(InputError):
    """The ledger cannot be used: newer, damaged, not a ledger, busy or unwritable. Exit status 2."""


class LedgerBusy(LedgerError):
    """Another run holds the ledger, for longer than this run would wait."""


def default_path(out: Path) -> Path:
    """The ledger beside the consolidated workbook."""
    return out.parent / DEFAULT_NAME


def template_key(schedule: Schedule) -> str:
    """What a return is judged against: the schedule's content and its forces (a force missing from the
    list rejects a return). A change to either re-checks every file."""
    return hashlib.sha256(json.dumps([schedule.fingerprint, schedule.forces.names]).encode()).hexdigest()


def _reached(stage: str) -> None:
    """A point in a run's transaction where a fault may strike (before its commit, just after it). Does
    nothing: the fault tests replace it, in a run of their own, to stop that run there and kill it."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _vet_header(path: Path) -> bool:
    """Refuse, without opening it through SQLite, a file that is not a ledger this release can use.

    True when there is nothing there yet (a new ledger)."""
    if path.is_dir():
        raise LedgerError(f"{path}: is a folder; give --db the path of a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the ledger ({exc.strerror or exc})") from None
    if not head:
        return True
    if len(head) < 100 or not head.startswith(_MAGIC):
        raise _damaged(path, "it is not an SQLite database")
    application = int.from_bytes(head[68:72], "big")
    version = int.from_bytes(head[60:64], "big")
    if application not in (0, APPLICATION_ID):
        raise _not_ours(path)
    if version > SCHEMA_VERSION:
        raise _newer(path, version)
    return False


def _damaged(path: Path, why: str) -> LedgerError:
    return LedgerError(
        f"{path}: the ledger is damaged ({why}). It was left as it is: restore it from a backup, or move it "
        "aside and run again to start a new ledger (every file is then read again)"
    )


def _not_ours(path: Path) -> LedgerError:
    return LedgerError(
        f"{path}: an SQLite database of another application, not an xlschedule ledger. It was left as it is: "
        "choose another file with --db"
    )


def _newer(path: Path, version: int) -> LedgerError:
    return LedgerError(
        f"{path}: the ledger was written by a newer release of xlschedule (ledger schema {version}; this release "
        f"knows up to {SCHEMA_VERSION}). It was left as it is: upgrade xlschedule, or choose another file with --db"
    )


def _busy(path: Path) -> LedgerBusy:
    return LedgerBusy(
        f"{path}: another xlschedule run (or a program reading the ledger) is using it, and did not finish in "
        "the time allowed. Nothing was recorded: run again when it has finished, or give --wait SECONDS"
    )


class Ledger:
    """An open ledger: one SQLite connection, transactions managed here."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.conn = conn

    @classmethod
    def open(cls, path: Path | str, wait: float = DEFAULT_WAIT) -> Ledger:
        """Open (creating or migrating forward) the ledger at `path`, waiting up to `wait` seconds for a run
        that holds it. Raises LedgerError for a newer, damaged or foreign file, which is left untouched."""
        path = Path(path)
        new = _vet_header(path)
        if new and not path.parent.is_dir():
            raise LedgerError(f"{path}: the folder {path.parent} does not exist; create it or choose another --db")
        try:
            conn = sqlite3.connect(path, timeout=wait, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"{path}: cannot open the ledger ({exc})") from None
        ledger = cls(path, conn)
        try:
            with ledger.transaction():
                ledger._prepare()
        except BaseException:
            conn.close()
            raise
        return ledger

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepare(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        application = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise _newer(self.path, version)
        if version == 0:
            if self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise _not_ours(self.path)
        else:
            if application != APPLICATION_ID:
                raise _not_ours(self.path)
            problems = [row[0] for row in self.conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise _damaged(self.path, problems[0])
            tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not TABLES <= tables:
                raise _damaged(self.path, f"tables missing: {', '.join(sorted(TABLES - tables))}")
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                self.conn.execute(statement)
        if version < SCHEMA_VERSION:
            self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")

    def _error(self, exc: sqlite3.Error) -> LedgerError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text):
            return _busy(self.path)
        if isinstance(exc, sqlite3.OperationalError) and ("full" in text or "I/O" in text or "readonly" in text):
            return LedgerError(f"{self.path}: cannot write the ledger ({text}). It is as it was before this run")
        if isinstance(exc, sqlite3.DatabaseError) and type(exc) is not sqlite3.ProgrammingError:
            return _damaged(self.path, text)
        raise exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT: all or nothing, and one writer at a time (others wait, then stop)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            yield
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self.conn.rollback()
            raise self._error(exc) from None
        except BaseException:
            self.conn.rollback()
            raise

    # --- reading ---------------------------------------------------------------------------------

    def run_ids(self) -> list[int]:
        return [row[0] for row in self.conn.execute("SELECT run_id FROM runs ORDER BY run_id")]

    def latest_run(self) -> int | None:
        return self.conn.execute("SELECT MAX(run_id) FROM runs").fetchone()[0]

    def run_info(self, run_id: int) -> dict[str, Any]:
        cur = self.conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,))
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))

    def iter_responses(self, run_id: int) -> Iterator[tuple[Any, ...]]:
        """The run's Responses rows, in consolidate.RESPONSE_COLUMNS order and in the order the consolidation
        writes them: accepted returns by force, return reference and file, each in schedule order. Streamed
        from SQLite a row at a time."""
        accepted = self.conn.execute(
            "SELECT f.path, r.force, r.return_ref, r.return_id FROM files f JOIN returns r USING (return_id) "
            "WHERE f.run_id = ? AND f.status = 'accepted' ORDER BY f.ordinal", (run_id,),
        ).fetchall()  # one short row per return
        for path, force, return_ref, return_id in accepted:
            rows = self.conn.execute(
                "SELECT section_label, ref, item, score, policy, evidence, COALESCE(score_cell, evidence_cell), "
                "schedule_version, release, status, worded_as FROM answers WHERE return_id = ? ORDER BY answer_id",
                (return_id,),
            )
            for section, ref, item, score, policy, evidence, cell, *version in rows:
                value = int(score) if score is not None and score.isdigit() else score
                yield (force, return_ref, section, ref, item, value, policy, evidence, path, cell, *version)

    def load_return(self, return_id: int, file: str, responses: bool = True) -> Return:
        """A judged return as ingest would have read it from `file`: its own findings, and its answers
        (or only their counts, with `responses=False`)."""
        row = self.conn.execute(
            "SELECT sha256, force, mode, schedule_version, return_ref, inspector, date, release, status, answered, "
            "responses, notes FROM returns WHERE return_id = ?", (return_id,),
        ).fetchone()
        sha, force, mode, version, ref, inspector, date, release, status, answered, count, notes = row
        ret = Return(
            file=file, sha256=sha or "", force=force, mode=Mode(mode) if mode else None, schedule_version=version,
            return_ref=ref, inspector=inspector, date=date, release=release, status=ReturnStatus(status),
            **_client_fields(json.loads(notes)),
        )
        ret.findings = [
            Finding(file=file, code=code, severity=Severity(severity), sheet=sheet, cell=cell, message=message,
                    problem=message if problem is None else problem, fix=fix or "")
            for code, severity, sheet, cell, message, problem, fix in self.conn.execute(
                "SELECT code, severity, sheet, cell, message, problem, fix FROM findings WHERE return_id = ? "
                "ORDER BY finding_id",
                (return_id,),
            )
        ]
        if responses:
            ret.responses = [
                Response(section=s, ref=r, sheet=sh, score=sc, policy=p, evidence=e, score_cell=c1,
                         policy_cell=c2, evidence_cell=c3, schedule_version=v, release=rel, status=ItemStatus(st),
                         worded_as=wa, asked=asked, asked_ref=aref)
                for s, r, sh, sc, p, e, c1, c2, c3, v, rel, st, wa, asked, aref in self.conn.execute(
                    "SELECT section, ref, sheet, score, policy, evidence, score_cell, policy_cell, evidence_cell, "
                    "schedule_version, release, status, worded_as, asked, asked_ref "
                    "FROM answers WHERE return_id = ? ORDER BY seq", (return_id,),
                )
            ]
        else:
            ret.drop_responses(answered, count)
        return ret

    # --- writing a run ---------------------------------------------------------------------------

    @contextmanager
    def run(
        self, schedule: Schedule, command: str, arguments: dict[str, Any], *, fresh: bool = False,
        strict: bool = False, keep_responses: bool = True,
    ) -> Iterator[RunRecorder]:
        """Record one run, all or nothing: the recorder must be finished before the block ends, and the
        run is committed when it does."""
        with self.transaction():
            recorder = RunRecorder(self, schedule, command, arguments, fresh, strict, keep_responses)
            yield recorder
            if not recorder.finished:
                raise RuntimeError("the run was not finished")
            _reached("before-commit")
        _reached("committed")


@dataclass
class Seen:
    """A file as found this run, before it is read: where, how big, when changed, its bytes' hash."""

    path: Path
    resolved: str
    size: int | None
    mtime: str | None
    sha256: str | None
    return_id: int | None = None  # the judgment it has (from the ledger, or made this run)
    checked: bool = False

    @classmethod
    def of(cls, path: Path) -> Seen:
        """The file's size and hash from the same bytes, read once (a file rewritten meanwhile cannot give one
        file's size with another's hash); a named pipe or device is not read (nor waited on)."""
        size, mtime, sha = None, None, None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            fd = None
        if fd is not None:
            with os.fdopen(fd, "rb") as fh:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode):
                    mtime = datetime.fromtimestamp(st.st_mtime, UTC).isoformat()
                    size, sha = _read_hashed(fh)
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a link that loops
            resolved = Path(os.path.abspath(path))
        return cls(path, storable(str(resolved)), size, mtime, sha)


def _read_hashed(fh: BinaryIO) -> tuple[int | None, str | None]:
    """How many bytes a file gave and their SHA-256, read once to its end."""
    digest, size = hashlib.sha256(), 0
    try:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    except OSError:
        return None, None
    return size, digest.hexdigest()


class RunRecorder:
    """One run being recorded, inside the ledger's transaction."""

    def __init__(
        self, ledger: Ledger, schedule: Schedule, command: str, arguments: dict[str, Any], fresh: bool,
        strict: bool, keep_responses: bool,
    ) -> None:
        self.ledger, self.conn, self.schedule = ledger, ledger.conn, schedule
        self.fresh, self.keep_responses = fresh, keep_responses
        self.template = template_key(schedule)
        self.finished = False
        info = schedule.schedule
        cur = self.conn.execute(
            "INSERT INTO runs (started_at, finished_at, command, tool_version, schedule_id, schedule_version, "
            "schedule_fingerprint, template, arguments, fresh, strict, files_new, files_changed, files_unchanged, "
            "files_withdrawn, files_read, returns, accepted, rejected, duplicates, errors, warnings) "
            "VALUES (?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)",
            (_now(), command, __version__, info.id, info.version, schedule.fingerprint, self.template,
             storable_json(arguments), int(fresh), int(strict)),
        )
        self.run_id = cur.lastrowid
        self._order = _Order(schedule)
        #: Judgments this run did not reuse: edited since they were recorded (their files), or with no digest.
        self.altered: list[Path] = []
        self.undigested = 0

    def judgment(self, seen: Seen) -> int | None:
        """The ledger's judgment of these bytes against this template by this tool version, if it may be reused:
        only while it is as it was recorded (its digest matches). One that does not is counted in `altered`
        or, written before judgments had digests, in `undigested`; its file is then read again."""
        if self.fresh or seen.sha256 is None:
            return None
        row = self.conn.execute(
            "SELECT return_id, digest FROM returns WHERE sha256 = ? AND template = ? AND tool_version = ? "
            "AND reusable", (seen.sha256, self.template, __version__),
        ).fetchone()
        if row is None:
            return None
        return_id, digest = row
        if digest is None:
            self.undigested += 1
            return None
        if digest != self.digest(return_id):
            self.altered.append(seen.path)
            return None
        return int(return_id)

    def digest(self, return_id: int) -> str:
        """SHA-256 of a judgment as the ledger stores it: its returns row (but for the run that made it and the
        digest itself), its findings and its answers, in order. A hand edit of any of them changes it."""
        digest = hashlib.sha256()
        queries = (
            ("SELECT * FROM returns WHERE return_id = ?", {"return_id", "judged_in", "digest"}),
            ("SELECT * FROM findings WHERE return_id = ? ORDER BY finding_id", {"finding_id", "return_id", "file_id"}),
            ("SELECT * FROM answers WHERE return_id = ? ORDER BY seq, answer_id", {"answer_id", "return_id"}),
        )
        for query, left_out in queries:
            cur = self.conn.execute(query, (return_id,))
            found = cur.fetchall()
            names = sorted((d[0], i) for i, d in enumerate(cur.description) if d[0] not in left_out and not (
                d[0] in DIGEST_LATE and all(row[i] is None for row in found)))
            rows = [[row[i] for _, i in names] for row in found]
            text = json.dumps([[n for n, _ in names], rows], ensure_ascii=False)
            digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
        return digest.hexdigest()

    def cached(self, seen: Seen) -> Return:
        assert seen.return_id is not None
        return self.ledger.load_return(seen.return_id, str(seen.path), responses=self.keep_responses)

    def record(self, seen: Seen, ret: Return) -> None:
        """Store a return just read (its judgment, findings and answers) and, unless they are kept, drop its
        answers from memory. A judgment of the same bytes, template and tool version is replaced."""
        reusable = bool(ret.sha256) and not any(f.code in NOT_REUSED for f in ret.findings)
        sha = ret.sha256 or None
        if sha is not None:
            old = self.conn.execute("SELECT return_id FROM returns WHERE sha256 = ? AND template = ? "
                                    "AND tool_version = ?", (sha, self.template, __version__)).fetchone()
        else:
            old = None
        values = (self.run_id, ret.force, ret.mode.value if ret.mode else None, ret.schedule_version,
                  ret.return_ref, ret.inspector, ret.date, ret.release, ret.status.value, ret.answered,
                  ret.response_count, len(ret.errors()), len(ret.warnings()),
                  storable_json(_client_record(ret)), int(reusable))
        if old is None:
            cur = self.conn.execute(
                "INSERT INTO returns (judged_in, force, mode, schedule_version, return_ref, inspector, date, release, "
                "status, answered, responses, errors, warnings, notes, reusable, sha256, template, tool_version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, sha, self.template, __version__),
            )
            return_id = cur.lastrowid
        else:  # --fresh: the same key judged again; earlier runs' files keep pointing at it
            return_id = old[0]
            self.conn.execute(
                "UPDATE returns SET judged_in = ?, force = ?, mode = ?, schedule_version = ?, return_ref = ?, "
                "inspector = ?, date = ?, release = ?, status = ?, answered = ?, responses = ?, errors = ?, "
                "warnings = ?, notes = ?, reusable = ? WHERE return_id = ?", (*values, return_id),
            )
            self.conn.execute("DELETE FROM answers WHERE return_id = ?", (return_id,))
            self.conn.execute("DELETE FROM findings WHERE return_id = ?", (return_id,))
        self.conn.executemany(
            "INSERT INTO findings (return_id, code, severity, sheet, cell, message, problem, fix) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(return_id, f.code, f.severity.value, f.sheet, f.cell, storable(f.message), storable(f.problem),
              storable(f.fix)) for f in ret.findings],
        )
        self.conn.executemany(
            "INSERT INTO answers (return_id, seq, section, section_label, ref, item, sheet, score, policy, evidence, "
            "score_cell, policy_cell, evidence_cell, schedule_version, release, status, worded_as, asked, asked_ref) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((return_id, seq, a.section, self._order.label(a.section), a.ref, self._order.item(a.ref) or a.asked or "",
              a.sheet, a.score, a.policy, a.evidence, a.score_cell, a.policy_cell, a.evidence_cell,
              a.schedule_version, a.release, a.status.value, a.worded_as, a.asked, a.asked_ref)
             for seq, a in self._order.sorted(ret.responses)),
        )
        assert return_id is not None
        self.conn.execute("UPDATE returns SET digest = ? WHERE return_id = ?", (self.digest(return_id), return_id))
        seen.return_id, seen.checked = return_id, True
        if not self.keep_responses:
            ret.drop_responses()

    def previous(self, scope: Sequence[Path]) -> dict[str, tuple[str, str | None, int | None, str]]:
        """What the ledger last saw at each path under `scope`: resolved path -> (path as given, SHA-256,
        judgment, status), for paths whose last state was not withdrawn."""
        roots = [storable(str(p.resolve())) for p in scope]
        out: dict[str, tuple[str, str | None, int | None, str]] = {}
        rows = self.conn.execute(
            "SELECT f.resolved, f.path, f.sha256, f.return_id, f.status FROM files f "
            "JOIN (SELECT resolved, MAX(file_id) AS last FROM files GROUP BY resolved) l ON f.file_id = l.last"
        )
        for resolved, path, sha, return_id, status in rows:
            inside = any(resolved == root or resolved.startswith(root.rstrip(os.sep) + os.sep) for root in roots)
            if inside and status != ReturnStatus.WITHDRAWN.value:
                out[resolved] = (path, sha, return_id, status)
        return out

    def finish(self, returns: list[Return], seen: list[Seen], scope: Sequence[Path]) -> tuple[list[Return], FileCounts]:
        """Record each file's place in this run; add the withdrawn (in the ledger's last view of these
        folders, gone now). Returns the withdrawn returns and the file counts."""
        _reached("checked")  # every judgment of the run written, nothing committed
        before = self.previous(scope)
        now = {s.resolved for s in seen}
        changes = []
        for s in seen:
            last = before.get(s.resolved)
            changes.append("new" if last is None else "unchanged" if last[1] == s.sha256 else "changed")
        withdrawn: list[tuple[Return, str]] = []
        for resolved, (path, _sha, return_id, _status) in sorted(before.items()):
            if resolved in now:
                continue
            gone = (self.ledger.load_return(return_id, path, responses=False) if return_id is not None
                    else Return(file=path))
            gone.findings, gone.notes = [], []
            gone.status = ReturnStatus.WITHDRAWN
            gone.drop_responses(0, 0)
            withdrawn.append((gone, resolved))
        everything = [*returns, *(w for w, _ in withdrawn)]
        ordinal = {id(r): n for n, r in enumerate(sorted(everything, key=_return_key))}
        for ret, s, change in zip(returns, seen, changes, strict=True):
            self._file(ret, s, change, ordinal[id(ret)])
        for ret, resolved in withdrawn:
            gone_seen = Seen(Path(ret.file), resolved, None, None, ret.sha256 or None)
            gone_seen.return_id = before[resolved][2]
            self._file(ret, gone_seen, "withdrawn", ordinal[id(ret)])
        counts = FileCounts(
            new=changes.count("new"), changed=changes.count("changed"), unchanged=changes.count("unchanged"),
            withdrawn=len(withdrawn), read=sum(s.checked for s in seen), from_ledger=sum(not s.checked for s in seen),
        )
        self._totals(returns, counts)
        self.finished = True
        return [w for w, _ in withdrawn], counts

    def _file(self, ret: Return, seen: Seen, change: str, ordinal: int) -> None:
        cur = self.conn.execute(
            "INSERT INTO files (run_id, path, resolved, size, mtime, sha256, return_id, status, change, checked, "
            "errors, warnings, answered, responses, ordinal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, storable(ret.file), seen.resolved, seen.size, seen.mtime, ret.sha256 or seen.sha256,
             seen.return_id, ret.status.value, change, int(seen.checked), len(ret.errors()), len(ret.warnings()),
             ret.answered, ret.response_count, ordinal),
        )
        own = 0
        if seen.return_id is not None:
            own = self.conn.execute("SELECT count(*) FROM findings WHERE return_id = ?",
                                    (seen.return_id,)).fetchone()[0]
        added = ret.findings[own:] if ret.status is not ReturnStatus.WITHDRAWN else []
        self.conn.executemany(
            "INSERT INTO findings (file_id, code, severity, sheet, cell, message, problem, fix) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(cur.lastrowid, f.code, f.severity.value, f.sheet, f.cell, f.message, f.problem, f.fix)
             for f in added],
        )

    def _totals(self, returns: list[Return], files: FileCounts) -> None:
        statuses = [r.status for r in returns]
        findings = [f.severity for r in returns for f in r.findings]
        self.conn.execute(
            "UPDATE runs SET finished_at = ?, files_new = ?, files_changed = ?, files_unchanged = ?, "
            "files_withdrawn = ?, files_read = ?, returns = ?, accepted = ?, rejected = ?, duplicates = ?, "
            "errors = ?, warnings = ? WHERE run_id = ?",
            (_now(), files.new, files.changed, files.unchanged, files.withdrawn, files.read, len(returns),
             statuses.count(ReturnStatus.ACCEPTED), statuses.count(ReturnStatus.REJECTED),
             statuses.count(ReturnStatus.DUPLICATE), findings.count(Severity.ERROR),
             findings.count(Severity.WARNING), self.run_id),
        )


def _return_key(ret: Return) -> tuple[Any, ...]:
    """The consolidation's order of returns: forces alphabetically (unrecognised last), reference, file."""
    from .consolidation.run import return_key

    return return_key(ret)


class _Order:
    """The consolidation's order of a return's answers, and the Section and Item texts its rows show."""

    def __init__(self, schedule: Schedule) -> None:
        from .consolidation.run import Run

        self.run = Run(schedule, [])
        self.labels: dict[str, str] = {}
        self.items: dict[str, str] = {}

    def sorted(self, responses: list[Response]) -> list[tuple[int, Response]]:
        end = len(self.run.order)
        return sorted(enumerate(responses), key=lambda pair: self.run.order.get(pair[1].ref, end))

    def label(self, section: str) -> str:
        if section not in self.labels:
            found = self.run.sections.get(section)
            self.labels[section] = found.label if found else section
        return self.labels[section]

    def item(self, ref: str) -> str:
        if ref not in self.items:
            self.items[ref] = self.run.item_text(ref)
        return self.items[ref]
