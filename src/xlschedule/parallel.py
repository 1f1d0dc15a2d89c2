"""Worker processes for building and ingesting many files on all cores.

Both jobs are CPU-bound Python, so threads would not help; each file is independent, so a pool of
processes does. Where processes cannot start (Python reading its script from stdin, say), callers
fall back to working in this process.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def workers(requested: int | None = None) -> int:
    return requested or os.cpu_count() or 1


def pool(size: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """A process pool that does not fork this process: a progress bar's thread may hold a lock at the
    moment of forking. The fork server imports xlschedule once, so each worker starts without importing it."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["xlschedule.build", "xlschedule.ingest"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(size, mp_context=context, initializer=initializer, initargs=initargs)


def pools_work() -> bool:
    """Can worker processes start here at all?"""
    try:
        with pool(1) as probe:
            return probe.submit(os.getpid).result(timeout=120) > 0
    except Exception:  # noqa: BLE001 - any failure means: work in this process instead
        return False
