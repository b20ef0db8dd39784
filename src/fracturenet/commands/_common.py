"""Helpers shared by the subcommands: JSON output, progress lines, model/data resolution."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from fracturenet.commands._registry import UsageError

__all__ = ["print_json", "progress", "check_positive", "file_link"]


def print_json(data: Any) -> None:
    """Prints ``data`` as indented JSON on stdout (NumPy values and paths become plain)."""

    def default(obj: Any) -> Any:
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        return str(obj)

    print(json.dumps(data, indent=2, default=default))


def progress(message: str, *, quiet: bool = False) -> None:
    """Writes a progress line to stderr (so stdout stays clean for ``--json``)."""
    if not quiet:
        print(f"[fracturenet] {message}", file=sys.stderr, flush=True)


def check_positive(name: str, value: float | int | None, *, allow_zero: bool = False) -> None:
    """Raises :class:`~fracturenet.cli.UsageError` unless ``value`` is > 0 (or >= 0)."""
    if value is None:
        return
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise UsageError(f"--{name.replace('_', '-')} must be {bound}. Received: {name}={value!r}")


def file_link(path: str | Path) -> str:
    """Returns ``path`` made absolute, with its ``file://`` link for a browser."""
    full = Path(path).resolve()
    return f"{full}  ({full.as_uri()})"
