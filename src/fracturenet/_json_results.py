"""One JSON mechanism for result classes: strict JSON files that are never overwritten unasked.

A result class defines ``to_dict`` (and ``from_dict`` when it can be read back) and inherits
:class:`JsonResult` (``to_json``) or :class:`JsonRoundTrip` (``to_json`` and ``from_json``);
the files are written the same way everywhere: NaN and infinities as ``null``, NumPy values as
Python ones, parents created, an existing file refused unless ``overwrite=True``.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

__all__ = ["JsonResult", "JsonRoundTrip", "from_jsonable", "to_jsonable", "write_new_file"]

_R = TypeVar("_R", bound="JsonRoundTrip")


def to_jsonable(value: Any) -> Any:
    """Replaces nan/inf by None (strict JSON) and NumPy values by Python ones."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def from_jsonable(value: Any) -> Any:
    """Inverse of :func:`to_jsonable` for metric trees: None back to nan."""
    if isinstance(value, dict):
        return {k: from_jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_jsonable(v) for v in value]
    return float("nan") if value is None else value


def write_new_file(path: str | os.PathLike[str], text: str, *, overwrite: bool) -> str:
    """Writes ``text`` to ``path`` (parents created), refusing to replace an existing file."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists and would be overwritten; choose another path or "
            f"pass overwrite=True. Received: path={str(target)!r}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w" if overwrite else "x", encoding="utf-8") as fh:
        fh.write(text)
    return str(target)


class JsonResult:
    """Adds :meth:`to_json` to a class that defines ``to_dict``."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def to_json(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> str:
        """Saves :meth:`to_dict` as strict JSON (NaN written as ``null``).

        Args:
            path: Output file; its folder is created if needed.
            overwrite: Replace an existing file. Defaults to `False`.

        Returns:
            The path written.

        Raises:
            FileExistsError: If ``path`` exists and ``overwrite`` is false.
        """
        text = json.dumps(to_jsonable(self.to_dict()), indent=1, allow_nan=False)
        return write_new_file(path, text, overwrite=overwrite)


class JsonRoundTrip(JsonResult):
    """Adds :meth:`from_json` to a class that defines ``to_dict`` and ``from_dict``."""

    @classmethod
    def from_dict(cls: type[_R], data: dict, *, source: str = "the dict") -> _R:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def from_json(cls: type[_R], path: str | os.PathLike[str]) -> _R:
        """Reads a file written by :meth:`to_json`.

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If the file is not JSON or not this kind of result (the message
                names the file).
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{str(path)!r} is not valid JSON ({err}); pass a file written by "
                f"{cls.__name__}.to_json. Received: path={str(path)!r}"
            ) from err
        return cls.from_dict(data, source=repr(str(path)))
