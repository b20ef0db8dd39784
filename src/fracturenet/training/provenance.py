"""Provenance of a run: the exact file lists, their fingerprints, and the model's origins.

A run folder gets ``files/train.txt``, ``files/val.txt`` (and ``files/test.txt`` from
``fracturenet train``), one ``label<TAB>path`` line per image, and ``provenance.json`` with a
fingerprint of each file set, the weights source (``imagenet`` / ``none`` / file + SHA-256,
matched fraction), backbone, input size, precision and library versions. Two runs trained on
the same images have the same fingerprints wherever the data folder lives.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fracturenet.data.fingerprint import content_set, file_set_fingerprint
from fracturenet.models.provenance import model_provenance
from fracturenet.training.rundir import atomic_write, atomic_write_json

__all__ = ["training_data_record", "write_file_list", "write_provenance"]


def _folder(run: Any) -> Path:
    """The folder of a ``RunDirectory`` or a path."""
    return Path(getattr(run, "path", run))


def write_file_list(run: Any, name: str, data: Any) -> dict | None:
    """Writes ``files/<name>.txt`` (``label<TAB>path`` lines) for a manifest-like ``data``.

    Args:
        run: The run folder (a ``RunDirectory`` or a path).
        name: Split name, e.g. ``"train"``.
        data: A :class:`~fracturenet.data.Manifest` (anything with ``paths``).

    Returns:
        The set's fingerprint, or ``None`` when ``data`` has no ``paths`` (arrays, datasets).
    """
    paths = getattr(data, "paths", None)
    if paths is None:
        return None
    labels = list(getattr(data, "labels", [""] * len(paths)))
    names = getattr(data, "class_names", None)
    shown = [names[y] if names and isinstance(y, int) else y for y in labels]
    text = "".join(f"{y}\t{p}\n" for y, p in zip(shown, paths, strict=True))
    target = _folder(run) / "files" / f"{name}.txt"
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return file_set_fingerprint(paths, labels)


def write_provenance(run: Any, model: Any, data: dict[str, Any]) -> dict[str, Any]:
    """Writes the file lists of ``data`` (split name -> manifest) and ``provenance.json``.

    Args:
        run: The run folder (a ``RunDirectory`` or a path).
        model: The model trained there (its backbone, input, precision, weights source).
        data: Split name -> manifest; entries without ``paths`` get no list.

    An existing ``provenance.json`` (e.g. from a resumed run, or the test list that
    ``fracturenet train`` adds) is extended, not replaced.

    Returns:
        What was written to ``provenance.json``.
    """
    import json

    path = _folder(run) / "provenance.json"
    info = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    info.update(model_provenance(model))
    sets = info.setdefault("data", {})
    for name, value in data.items():
        fingerprint = write_file_list(run, name, value)
        if fingerprint is not None:
            sets[name] = fingerprint
    atomic_write_json(path, info)
    return info


def training_data_record(
    data: dict[str, Any], selection: set[str] | frozenset[str]
) -> dict[str, Any]:
    """What a model records about the images it was trained and selected on.

    Args:
        data: Set name (``"train"``, ``"val"``) -> the input given to ``Trainer.fit``:
            a :class:`~fracturenet.data.Manifest` (its files are hashed by content), arrays
            or a dataset (recorded without files), or ``None`` (left out).
        selection: Names of the sets that picked the best epoch, stopped training early or
            steered the fine-tuning (the validation set when ``monitor`` is a ``val_``
            metric).

    Returns:
        ``{"basis": ..., "sets": {name: content_set record + "used_for_selection"}}``; a set
        without files has ``n`` (when known) and ``digests: None``. See
        :func:`~fracturenet.models.provenance.training_data_of`.

    Example:
        >>> import numpy as np
        >>> r = training_data_record({"train": (np.zeros((4, 2)), np.zeros(4)), "val": None},
        ...                          selection={"train"})
        >>> r["sets"]["train"]["n"], r["sets"]["train"]["digests"], list(r["sets"])
        (4, None, ['train'])
    """
    sets: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            continue
        paths = getattr(value, "paths", None)
        if paths is not None:
            record = content_set(list(paths))
        else:
            n = len(value[0]) if isinstance(value, tuple) else None
            record = {"n": n, "hashed": 0, "sha256": None, "digests": None}
        sets[name] = {**record, "used_for_selection": name in selection}
    return {"basis": "SHA-256 of each file's bytes (first 8 bytes kept)", "sets": sets}
