"""Worker processes for building and checking many files on all cores: the one pool both jobs use.

Both jobs are CPU-bound Python, so threads would not help; each file is independent, so a pool of
processes does. Each process makes its context once (a built blank, the templates), then works through
its share of the items. Where processes cannot start (Python reading its script from stdin, say), the
work is done in this process instead.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: This process's context, made once by the pool's initialiser.
_context: Any = None


def workers(requested: int | None = None) -> int:
    return requested or os.cpu_count() or 1


def pool(
    size: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
    preload: Sequence[str] = (),
) -> ProcessPoolExecutor:
    """A process pool, started the cheapest safe way.

    Forking is fastest (workers inherit everything imported) but safe only while this process has a
    single thread: a thread could hold a lock at the moment of forking. The progress bars here draw
    without a thread of their own for that reason. Otherwise a fork server imports the `preload`
    modules once for all workers; failing that, each worker is spawned afresh."""
    methods = multiprocessing.get_all_start_methods()
    context: multiprocessing.context.BaseContext
    if "fork" in methods and threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
    elif "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        if preload:
            context.set_forkserver_preload(list(preload))
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


def _start(make_context: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _context
    _context = make_context(*args)


def _call(work: Callable[[Any, T], R], item: T) -> R:
    return work(_context, item)


def run(
    items: Sequence[T],
    work: Callable[[Any, T], R],
    make_context: Callable[..., Any],
    context_args: tuple[Any, ...] = (),
    *,
    threshold: int,
    chunksize: int = 1,
    size: int | None = None,
    on_result: Callable[[T, R], None] | None = None,
    on_crash: Callable[[T], R] | None = None,
) -> list[R]:
    """`work(context, item)` for every item, results in the items' order; `on_result` hears of each.

    With `threshold` items or more and more than one core, the items are shared among worker processes,
    each with its own `make_context(*context_args)`; with fewer, starting processes would cost more than
    it saves. A worker that dies (a crash no exception could catch) breaks the pool: with `on_crash`, the
    unfinished items are then run one per fresh process, so that only the culprit gets `on_crash(item)`;
    without it, or where processes cannot start at all, the rest are run in this process."""
    results: list[R] = []

    def record(item: T, result: R) -> None:
        results.append(result)
        if on_result:
            on_result(item, result)

    def here() -> list[R]:
        context = make_context(*context_args)
        for item in items[len(results):]:
            record(item, work(context, item))
        return results

    size = workers(size)
    if size < 2 or len(items) < threshold:
        return here()
    start = (make_context, context_args)
    preload = [make_context.__module__]
    try:
        with pool(size, _start, start, preload) as many:
            for item, result in zip(items, many.map(functools.partial(_call, work), items, chunksize=chunksize)):
                record(item, result)
    except BrokenProcessPool:
        if on_crash is None or not pools_work():
            return here()
        for item in items[len(results):]:
            try:
                with pool(1, _start, start, preload) as alone:
                    record(item, alone.submit(_call, work, item).result())
            except BrokenProcessPool:
                record(item, on_crash(item))
    return results
