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
    job = _Job(items, work, make_context, context_args, on_result)
    size = workers(size)
    if size < 2 or len(items) < threshold:
        return job.here()
    try:
        job.in_pool(size, chunksize)
    except BrokenProcessPool:
        if on_crash is None or not pools_work():
            return job.here()
        job.one_by_one(on_crash)
    return job.results


class _Job:
    """The items, how to work on them, and the results so far (in the items' order)."""

    def __init__(
        self, items: Sequence[T], work: Callable[[Any, T], R], make_context: Callable[..., Any],
        context_args: tuple[Any, ...], on_result: Callable[[T, R], None] | None,
    ) -> None:
        self.items, self.work, self.on_result = items, work, on_result
        self.make_context, self.context_args = make_context, context_args
        self.results: list[Any] = []

    def record(self, item: Any, result: Any) -> None:
        self.results.append(result)
        if self.on_result:
            self.on_result(item, result)

    def todo(self) -> Sequence[Any]:
        return self.items[len(self.results):]

    def here(self) -> list[Any]:
        context = self.make_context(*self.context_args)
        for item in self.todo():
            self.record(item, self.work(context, item))
        return self.results

    def _pool(self, size: int) -> ProcessPoolExecutor:
        return pool(size, _start, (self.make_context, self.context_args), [self.make_context.__module__])

    def in_pool(self, size: int, chunksize: int) -> None:
        todo = self.todo()
        with self._pool(size) as many:
            for item, result in zip(todo, many.map(functools.partial(_call, self.work), todo, chunksize=chunksize)):
                self.record(item, result)

    def one_by_one(self, on_crash: Callable[[Any], Any]) -> None:
        for item in self.todo():
            try:
                with self._pool(1) as alone:
                    self.record(item, alone.submit(_call, self.work, item).result())
            except BrokenProcessPool:
                self.record(item, on_crash(item))
