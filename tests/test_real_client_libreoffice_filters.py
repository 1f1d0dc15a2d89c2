"""LibreOffice's two xlsx filters as real clients: a return opened and saved through each ("Excel 2007-365",
the default, and "Office Open XML Spreadsheet") ingests with every value intact, and what LibreOffice does to
the metadata sheet (hidden, the structure lock dropped) is noted, not held against the return.

Each conversion runs its own headless soffice with a private profile. Skipped with a reason where LibreOffice
is missing; CI (CI=true) turns that skip into a failure.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from xlschedule.ingest import NO_REGISTRY_NOTE
from xlschedule.model import META_SHEET

from conftest import run_cli
from libreoffice import SOFFICE, require_libreoffice
from tables import table_rows
from test_ingest import make_return

FILTERS = ("Calc MS Excel 2007 XML", "Calc Office Open XML")


def save_through(src: Path, folder: Path, filter_name: str) -> Path:
    """Open `src` in LibreOffice and save it as xlsx through `filter_name`."""
    require_libreoffice()
    assert SOFFICE is not None
    out = folder / "saved"
    profile = (folder / "profile").as_uri()
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--norestore",
         "--convert-to", f"xlsx:{filter_name}", "--outdir", str(out), str(src)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    saved = out / src.name
    assert done.returncode == 0 and saved.exists(), f"soffice {filter_name} failed: {done.stderr[-2000:]}"
    return saved


def ingest(folder: Path, path: Path) -> tuple[dict, dict[str, tuple]]:
    out, report = folder / "c.xlsx", folder / "r.json"
    result = run_cli("ingest", str(path), "--out", str(out), "--report", str(report))
    assert "Traceback" not in result.output
    rows = {r["Ref"]: (r["Score"], r["Policy fit"], r["Evidence"]) for r in table_rows(out, "Responses")}
    return json.loads(report.read_text(encoding="utf-8")), rows


@pytest.mark.parametrize("filter_name", FILTERS)
def test_a_return_saved_through_either_libreoffice_filter_ingests_whole(tmp_path, schedule, filter_name):
    require_libreoffice()
    filled = make_return(tmp_path, schedule, "Kent-filled", ref="K-lo")
    (tmp_path / "before").mkdir()
    _data, before = ingest(tmp_path / "before", filled)
    saved = save_through(filled, tmp_path, filter_name)

    data, after = ingest(tmp_path, saved)
    [ret] = data["returns"]
    assert ret["status"] == "accepted" and ret["findings"] == [], ret["findings"]
    assert (ret["return_ref"], ret["date"]) == ("K-lo", "2026-11-03")
    assert after == before
    [note] = [n for n in data["notes"] if n != NO_REGISTRY_NOTE]  # the run's own note aside
    assert note.startswith("1 return was saved by LibreOffice, which shows the "
                           f"'{META_SHEET}' sheet (very hidden in the blank)"), note
    assert (ret["saved_by"], ret["client_changes"]) == ("LibreOffice", ["metadata-sheet-shown", "structure-unlocked"])
