"""Console hygiene for the command line: TensorFlow's start-up noise and progress lines.

TensorFlow prints C++ log lines on import and on the first device query, even on a CPU-only
machine where nothing is wrong (``failed call to cuInit ... (303)``, absl's
``All log messages before absl::InitializeLog()`` twice). :func:`quiet_tensorflow_start`
imports TensorFlow with those known lines filtered out; every other line on stderr is
replayed unchanged, so real errors still show. Set ``FRACTURENET_TF_LOGS=1`` (or pass
``--debug`` to the CLI) to see everything.

:class:`ProgressLine` reports a long loop with a known total: a few lines with count,
percent, elapsed time and ETA instead of one line per step.

Example:
    >>> from fracturenet.console import ProgressLine
    >>> lines = []
    >>> p = ProgressLine("features", total=4, unit="batch", write=lines.append, every_s=0)
    >>> for _ in range(4):
    ...     p.update()
    >>> lines[-1].startswith("features: 4/4 batches (100%)")
    True
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

__all__ = ["TF_NOISE", "ProgressLine", "filtered_stderr", "quiet_tensorflow_start"]

#: Environment variable that, set to ``1``, keeps TensorFlow's start-up logs.
TF_LOGS_ENV = "FRACTURENET_TF_LOGS"

#: Lines TensorFlow/XLA/absl print on start-up that say nothing is wrong on a CPU machine.
TF_NOISE = (
    re.compile(r"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(r"cudart_stub\.cc.*Could not find cuda drivers"),
    re.compile(r"cuda_(platform|driver|executor)\.cc.*failed call to cuInit"),
    re.compile(r"Unable to register cu(DNN|FFT|BLAS) factory"),
    re.compile(r"computation_placer\.cc.*already registered"),
    re.compile(r"oneDNN custom operations are on"),
    re.compile(r"cpu_feature_guard\.cc.*This TensorFlow binary is optimized"),
    re.compile(r"^To enable the following instructions: .* rebuild TensorFlow"),
    re.compile(r"TF-TRT Warning: Could not find TensorRT"),
)


@contextlib.contextmanager
def filtered_stderr(noise: tuple[re.Pattern[str], ...] = TF_NOISE) -> Iterator[None]:
    """Captures file descriptor 2 (C++ logs included) and replays lines not in ``noise``.

    Args:
        noise: Compiled patterns; a stderr line matching any of them is dropped.
            Defaults to `TF_NOISE`.

    Yields:
        Nothing; stderr is restored and the kept lines are written on exit.

    Example:
        >>> import os, re
        >>> with filtered_stderr((re.compile("noise"),)):
        ...     _ = os.write(2, b"noise\\n")
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (embedded interpreters): nothing to filter
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            kept = [
                line
                for line in text.splitlines(keepends=True)
                if not any(p.search(line) for p in noise)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow_start(*, keep_logs: bool | None = None) -> None:
    """Imports TensorFlow and queries its devices with the known start-up noise removed.

    Call it before anything else imports TensorFlow. Warnings and errors that are not in
    :data:`TF_NOISE` still reach stderr. A no-op when TensorFlow is already imported.

    Args:
        keep_logs: Keep every log line (set ``TF_CPP_MIN_LOG_LEVEL`` to ``0``). Defaults to
            `None`: read the ``FRACTURENET_TF_LOGS`` environment variable.
    """
    if keep_logs is None:
        keep_logs = os.environ.get(TF_LOGS_ENV, "") not in ("", "0")
    if keep_logs:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    with filtered_stderr():
        try:
            import tensorflow as tf
        except ImportError:  # another Keras backend, or TensorFlow missing: nothing to hush
            return
        tf.config.list_physical_devices("GPU")  # cuInit happens here on CPU machines


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressLine:
    """Reports a loop with a known total as a few complete lines with ETA.

    A line is written when at least ``every_s`` seconds passed since the last one, and always
    for the last step, so a 148-batch loop prints a handful of lines, not 148.

    Args:
        label: What is being done, e.g. ``"feature extraction"``.
        total: Number of steps, or `None` if unknown (then no percent or ETA).
        unit: Name of one step. Defaults to `"step"`.
        write: Where lines go. Defaults to `None`: stderr.
        every_s: Minimum seconds between lines. Defaults to `10.0`.

    Example:
        >>> lines = []
        >>> p = ProgressLine("x", total=None, write=lines.append, every_s=0)
        >>> p.update(3)
        >>> lines
        ['x: 3 steps, 0s elapsed']
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        unit: str = "step",
        write: Callable[[str], None] | None = None,
        every_s: float = 10.0,
    ) -> None:
        self.label = label
        self.total = total if total is not None and total > 0 else None
        self.unit = unit
        self._write = write or (lambda s: print(s, file=sys.stderr, flush=True))
        self.every_s = every_s
        self.done = 0
        self._start = time.perf_counter()
        self._last = self._start

    def update(self, steps: int = 1) -> None:
        """Counts ``steps`` more steps and writes a line when one is due."""
        self.done += steps
        now = time.perf_counter()
        finished = self.total is not None and self.done >= self.total
        if not finished and now - self._last < self.every_s:
            return
        self._last = now
        elapsed = now - self._start
        units = f"{self.unit}es" if self.unit.endswith(("s", "sh", "ch", "x")) else f"{self.unit}s"
        if self.total is None:
            self._write(f"{self.label}: {self.done} {units}, {_duration(elapsed)} elapsed")
            return
        pct = 100 * self.done / self.total
        line = f"{self.label}: {self.done}/{self.total} {units} ({pct:.0f}%), "
        if finished:
            line += f"done in {_duration(elapsed)}"
        else:
            eta = elapsed / self.done * (self.total - self.done)
            line += f"{_duration(elapsed)} elapsed, ETA {_duration(eta)}"
        self._write(line)
