"""Worker processes for building and ingesting many files on all cores.

Both jobs are CPU-bound Python, so threads would not help; each file is independent, so a pool of
processes does. Where processes cannot start (Python reading its script from stdin, say), callers
fall back to working in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def workers(requested: int | None = None) -> int:
    return requested or os.cpu_count() or 1


def pool(
    size: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A process pool, started the cheapest safe way.

    Forking is fastest (workers inherit everything imported) but safe only while this process has a
    single thread: a thread could hold a lock at the moment of forking. The progress bars here draw
    without a thread of their own for that reason. Otherwise a fork server imports the initializer's
    module once for all workers; failing that, each worker is spawned afresh."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
    elif "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        if initializer is not None:
            context.set_forkserver_preload([initializer.__module__])
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
