"""Read a CSV manifest (``path,label[,split][,group]``) into a :class:`Manifest`.

This is the format :meth:`Manifest.to_csv` writes, so a manifest cleaned by the audit or
split by hand round-trips through a file.
"""

from __future__ import annotations

import csv
import os

from fracturenet.data.manifest import Manifest, normalise_split
from fracturenet.exceptions import DatasetError

__all__ = ["read_csv_manifest"]

_REQUIRED = ("path", "label")
_OPTIONAL = ("split", "group")
_MAX_LISTED = 5


def _class_order(labels: set[str]) -> list[str]:
    # Integer-like labels sort numerically ("2" before "10"); names sort as strings.
    if labels and all(x.lstrip("-").isdigit() for x in labels):
        return sorted(labels, key=int)
    return sorted(labels)


def read_csv_manifest(csv_path: str | os.PathLike[str]) -> Manifest:
    """Reads a CSV manifest with a header row and columns ``path,label[,split][,group]``.

    Column names are matched case-insensitively; any other column becomes a per-image
    attribute (:attr:`Manifest.attributes`, empty cells ``None``), as
    :meth:`Manifest.to_csv` writes them. Relative paths
    are resolved against the folder that holds the CSV. ``split`` values are normalised
    (``Train`` -> ``"train"``, ``valid``/``validation`` -> ``"val"``); empty cells give
    ``None``.

    Args:
        csv_path: The manifest file.

    Returns:
        The manifest, with class names sorted (numerically when every label is an integer).

    Raises:
        DatasetError: If a required column is missing, a listed file does not exist, a split
            value is unknown, or the CSV lists no rows or a single class.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> for n in ("a.png", "b.png"):
        ...     (d / n).write_bytes(b"")
        0
        0
        >>> _ = (d / "m.csv").write_text("path,label\\na.png,cat\\nb.png,dog\\n")
        >>> read_csv_manifest(d / "m.csv").class_names
        ('cat', 'dog')
    """
    csv_path = os.path.abspath(os.fspath(csv_path))
    base = os.path.dirname(csv_path)
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DatasetError(
                f"CSV manifest {csv_path!r} is empty; expected a header row with columns "
                f"{list(_REQUIRED)} (optional {list(_OPTIONAL)}). Received: path={csv_path!r}"
            )
        cols = {name.strip().lower(): i for i, name in enumerate(header)}
        missing = [c for c in _REQUIRED if c not in cols]
        if missing:
            raise DatasetError(
                f"CSV manifest {csv_path!r} lacks column(s) {missing}; required columns are "
                f"{list(_REQUIRED)} (optional {list(_OPTIONAL)}). Columns found: {header}. "
                f"Received: path={csv_path!r}"
            )
        rows = [r for r in reader if any(cell.strip() for cell in r)]

    extra = [
        (name.strip(), i)
        for i, name in enumerate(header)
        if name.strip() and name.strip().lower() not in _REQUIRED + _OPTIONAL
    ]
    attrs: dict[str, list[str | None]] = {name: [] for name, _ in extra}
    paths, names, splits, groups = [], [], [], []
    absent, bad_splits = [], []
    for line, row in enumerate(rows, start=2):

        def cell(name: str, row=row) -> str:
            i = cols.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        rel, label = cell("path"), cell("label")
        full = os.path.normpath(os.path.join(base, os.path.expanduser(rel)))
        if not rel or not os.path.isfile(full):
            absent.append(f"line {line}: {rel!r}")
        if not label:
            raise DatasetError(
                f"CSV manifest {csv_path!r} line {line} has an empty label. Every row needs "
                f"a class name in column 'label'. Received: row={row}"
            )
        split_raw = cell("split")
        split = normalise_split(split_raw) if split_raw else None
        if split_raw and split is None:
            bad_splits.append(f"line {line}: {split_raw!r}")
        paths.append(full)
        names.append(label)
        splits.append(split)
        groups.append(cell("group") or None)
        for name, i in extra:
            attrs[name].append((row[i].strip() if i < len(row) else "") or None)

    if absent:
        raise DatasetError(
            f"CSV manifest {csv_path!r} lists {len(absent)} file(s) that do not exist "
            f"(relative paths are resolved against {base!r}): {absent[:_MAX_LISTED]}"
            f"{' ...' if len(absent) > _MAX_LISTED else ''}. Fix the paths or remove the rows."
        )
    if bad_splits:
        raise DatasetError(
            f"CSV manifest {csv_path!r} has unknown split value(s) {bad_splits[:_MAX_LISTED]}; "
            "accepted (any case): train, training, val, valid, validation, dev, test, testing, "
            "or empty."
        )
    class_names = _class_order(set(names))
    if not paths:
        raise DatasetError(f"CSV manifest {csv_path!r} lists no images. Received: rows=0")
    if len(class_names) < 2:
        raise DatasetError(
            f"CSV manifest {csv_path!r} has a single class {class_names[0]!r}; classification "
            f"needs at least two. Received: labels={class_names}"
        )
    index = {c: i for i, c in enumerate(class_names)}
    return Manifest(
        paths=tuple(paths),
        labels=tuple(index[c] for c in names),
        class_names=tuple(class_names),
        splits=tuple(splits),
        groups=tuple(groups),
        attributes={k: tuple(v) for k, v in attrs.items()},
        root=csv_path,
        ignored={},
    )
