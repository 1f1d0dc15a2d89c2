"""One file that crashes its checker never takes the run down: an exception, or a worker process that dies,
is reported as unexpected-error on that file alone, and every other return is checked, in the files' order."""

from __future__ import annotations

import io
import multiprocessing
import os
import sys
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlschedule import ingest as ingest_module
from xlschedule import layout, parallel, read
from xlschedule.build import build_workbook
from xlschedule.ingest import check_files, ingest
from xlschedule.model import COVER_SHEET, Mode, ReturnStatus
from xlschedule.packager import workbook_bytes
from xlschedule.samples import answers

NAMES = ["a", "b", "crash", "d", "e"]
CULPRIT = NAMES.index("crash")


@pytest.fixture(scope="module")
def returns(tmp_path_factory, schedule) -> list[Path]:
    """Five good returns with their own references; the one named 'crash' is where the checker will fail."""
    folder = tmp_path_factory.mktemp("crash")
    wb = load_workbook(io.BytesIO(workbook_bytes(build_workbook(schedule, "Kent", Mode.YESNO))))
    for (sheet, cell), value in answers(schedule, Mode.YESNO, 1).items():
        wb[sheet][cell].value = value
    paths = []
    for i, name in enumerate(NAMES):
        wb[COVER_SHEET][layout.cover_cell("return_ref")].value = f"K-{i}"
        path = folder / f"{i}-{name}.xlsx"
        path.write_bytes(workbook_bytes(wb))
        paths.append(path)
    return paths


def patch_reader(monkeypatch, replacement) -> None:
    """Put `replacement` wherever xlschedule holds the reader (check_return may call it by another module)."""
    original = read.read_workbook
    places = [(module, attr) for name, module in list(sys.modules.items())
              if name == "xlschedule" or name.startswith("xlschedule.")
              for attr, value in vars(module).items() if value is original]
    assert places, "no module of xlschedule holds read_workbook"
    for module, attr in places:
        monkeypatch.setattr(module, attr, replacement)


def use_the_pool(monkeypatch, files: int) -> None:
    """Check even a few files in worker processes, and make sure those workers are forked from this process,
    so that they inherit the patched reader."""
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("worker processes cannot be forked here, so they would not inherit the patched reader")
    if threading.active_count() != 1:
        pytest.skip("this process runs other threads, so the pool would not fork and its workers would not "
                    "inherit the patched reader")
    module = next(m for m in (ingest_module, parallel) if hasattr(m, "POOL_THRESHOLD"))
    monkeypatch.setattr(module, "POOL_THRESHOLD", 2)
    assert files >= 2
    if not parallel.pools_work():
        pytest.skip("worker processes cannot start here")


def assert_the_others_are_accepted(results, files, schedule) -> None:
    assert [r.file for r in results] == [str(p) for p in files]  # the files' order
    for i, ret in enumerate(results):
        if i == CULPRIT:
            continue
        assert ret.status is ReturnStatus.ACCEPTED and ret.findings == [], (ret.file, ret.findings)
        assert (ret.force, ret.return_ref) == ("Kent", f"K-{i}")
        assert len(ret.responses) == schedule.item_count + len(schedule.sections)
        assert next(r for r in ret.responses if r.ref == "1.1").score in schedule.options(Mode.YESNO)


def test_a_worker_that_dies_fails_only_its_own_file(returns, schedule, monkeypatch, tmp_path):
    parent = os.getpid()
    original = read.read_workbook

    def dying_reader(path, *args, **kwargs):
        if "crash" in Path(path).name:
            if os.getpid() == parent:  # dying here would end the test run (and a user's whole ingest)
                (tmp_path / "read-in-this-process").touch()
                raise RuntimeError("the culprit was read in this process")
            (tmp_path / f"died-{os.getpid()}").touch()
            os._exit(1)  # as a reader crashing the process would: no exception, no finding
        return original(path, *args, **kwargs)

    use_the_pool(monkeypatch, len(returns))
    patch_reader(monkeypatch, dying_reader)
    progress: list[Path] = []
    results = check_files(returns, schedule, on_file=progress.append, workers=2)

    assert list(tmp_path.glob("died-*")), "no worker process died: the crash path was not exercised"
    assert not (tmp_path / "read-in-this-process").exists(), "after a crash, the culprit must not be read here"
    culprit = results[CULPRIT]
    assert culprit.status is ReturnStatus.REJECTED
    assert [f.code for f in culprit.findings] == ["unexpected-error"]
    assert_the_others_are_accepted(results, returns, schedule)
    assert progress == returns  # each file reported once, in order


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "worker-processes"])
def test_an_exception_while_checking_one_file_is_reported_and_the_run_goes_on(
    returns, schedule, monkeypatch, workers
):
    original = read.read_workbook

    def failing_reader(path, *args, **kwargs):
        if "crash" in Path(path).name:
            raise KeyError("a bug in the reader")
        return original(path, *args, **kwargs)

    if workers > 1:
        use_the_pool(monkeypatch, len(returns))
    patch_reader(monkeypatch, failing_reader)
    report = ingest(returns, schedule, workers=workers)

    culprit = report.returns[CULPRIT]
    assert culprit.status is ReturnStatus.REJECTED
    assert [(f.code, f.severity.value) for f in culprit.findings] == [("unexpected-error", "error")]
    assert "KeyError" in culprit.findings[0].message
    assert_the_others_are_accepted(report.returns, returns, schedule)
    assert not report.ok and len(report.accepted) == len(returns) - 1
