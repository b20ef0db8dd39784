"""Ordered parallel map over a thread pool with a bounded look-ahead.

Pillow releases the GIL while decoding, so a few threads decode images in parallel; the
look-ahead bounds memory (``ThreadPoolExecutor.map`` would submit every item at once).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["default_workers", "ordered_map"]

_T = TypeVar("_T")
_R = TypeVar("_R")


def default_workers() -> int:
    """Threads used for decoding: the CPUs this process may use, between 2 and 16.

    Returns:
        The worker count.

    Example:
        >>> 2 <= default_workers() <= 16
        True
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 2
    return max(2, min(16, cpus))


def ordered_map(
    fn: Callable[[_T], _R], items: Iterable[_T], *, workers: int, lookahead: int | None = None
) -> Iterator[_R]:
    """Yields ``fn(item)`` for each item, in input order, computed on ``workers`` threads.

    Exceptions raised by ``fn`` are re-raised when their result is reached. Closing the
    iterator early cancels the work not started yet.

    Args:
        fn: Function of one item.
        items: Inputs.
        workers: Thread count (>= 1).
        lookahead: Most results computed ahead of the consumer. Defaults to `None`
            (``4 * workers``).

    Returns:
        An iterator of results.

    Example:
        >>> list(ordered_map(lambda x: x * x, range(5), workers=3))
        [0, 1, 4, 9, 16]
    """
    ahead = lookahead or 4 * workers
    it = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fracturenet-decode") as ex:
        pending: deque[Future] = deque(ex.submit(fn, x) for _, x in zip(range(ahead), it))
        try:
            while pending:
                fut = pending.popleft()
                for x in it:
                    pending.append(ex.submit(fn, x))
                    break
                yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()
