"""Threads for the exponential integrator's batched small matrix products.

NumPy releases the GIL in its matrix products and BLAS runs on one thread inside the integrator
(see :func:`theorykit.committee.solve.exponential.integrate_exponential`), so independent pieces of work --
slices of the mode axis, or separate sums -- run side by side on a small pool of threads, using
the cores that BLAS's own threading could not use on such small products.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: Fewest modes per worker thread: below, a thread's start-up costs more than it saves.
_MODES_PER_WORKER = 32
_pool: ThreadPoolExecutor | None = None


def _workers() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="theorykit-modes")
    return _pool


def in_parallel(task, count: int) -> None:
    """Run ``task(part)`` over slices covering ``range(count)``, on threads when it pays."""
    workers = min(_workers(), count // _MODES_PER_WORKER)
    if workers <= 1:
        task(slice(0, count))
        return
    edges = np.linspace(0, count, workers + 1).astype(int)
    for future in [_get_pool().submit(task, slice(lo, hi)) for lo, hi in zip(edges[:-1], edges[1:])]:
        future.result()


def together(*tasks, modes: int) -> list:
    """The results of ``task()`` for every task, each a sum over ``modes`` modes: side by side
    when there are enough modes to pay for the threads (the rule of :func:`in_parallel`)."""
    if modes < _MODES_PER_WORKER or _workers() == 1 or len(tasks) == 1:
        return [task() for task in tasks]
    return [future.result() for future in [_get_pool().submit(task) for task in tasks]]
