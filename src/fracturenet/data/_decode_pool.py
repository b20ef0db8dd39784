"""Decoding many files at once on every core: one shared thread pool, results in order.

Pillow releases the GIL while it decodes, reduces and resizes, so threads decode in parallel;
the pure-Python part of each file (headers, EXIF, geometry) is kept small in
:mod:`fracturenet.data.load_resized`. The pool is shared by every pipeline of the process, so
the number of decodes in flight never exceeds the number of CPUs this process may use, however
many datasets are iterated; the memory budget (:mod:`fracturenet.data.decode_budget`) further
lowers it for huge images. Created on first use, never at import; a forked child makes its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pool: dict[str, ThreadPoolExecutor | None] = {"executor": None}
_fork_hook = [False]


def decode_threads() -> int:
    """Threads the pool decodes with: the CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _forget_pool() -> None:  # in a forked child the parent's threads do not exist
    _pool["executor"] = None


def _executor() -> ThreadPoolExecutor:
    with _lock:
        if _pool["executor"] is None:
            if not _fork_hook[0]:
                os.register_at_fork(after_in_child=_forget_pool)
                _fork_hook[0] = True
            _pool["executor"] = ThreadPoolExecutor(
                max_workers=decode_threads(), thread_name_prefix="fracturenet-decode"
            )
        return _pool["executor"]


def _outcome(fn: Callable[[T], R], item: T) -> tuple[R | None, Exception | None]:
    try:
        return fn(item), None
    except Exception as e:  # handed back to the caller, in order, with the item it came from
        return None, e


def map_outcomes(
    fn: Callable[[T], R], items: Sequence[T]
) -> list[tuple[R | None, Exception | None]]:
    """Applies ``fn`` to every item on the shared pool; ``(result, None)`` or ``(None, error)``.

    Results come back in the order of ``items`` whatever order the threads finish in. With one
    thread (or one item) ``fn`` runs in the calling thread: the serial path.

    Args:
        fn: The work for one item (a decode).
        items: The items.

    Returns:
        One ``(result, error)`` pair per item, in order; exactly one of the two is ``None``.
    """
    if decode_threads() == 1 or len(items) <= 1:
        return [_outcome(fn, item) for item in items]
    pool = _executor()
    futures = [pool.submit(_outcome, fn, item) for item in items]
    return [f.result() for f in futures]
