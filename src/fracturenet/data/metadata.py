"""Metadata as data: join a CSV that describes the images to a manifest, by file name.

Datasets often ship a table beside the images (FracAtlas' ``dataset.csv``: body region
flags, implants, several views in one image, the label again). :func:`join_metadata` reads
such a table, matches its rows to the manifest's files by a key column (a file name, or a
path relative to the dataset root), and returns the manifest with each column as a per-image
attribute (:attr:`Manifest.attributes`), usable as split strata or groups
(:func:`~fracturenet.data.train_val_test_split`) and as report facets. Nothing here knows a
particular dataset.

When the table also carries the label, the two sources are compared: images whose folder
(or manifest) label and table label disagree are listed in
:attr:`Manifest.label_conflicts` and a warning names them; ``labels_from`` says which wins.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace

from fracturenet.data.manifest import Manifest
from fracturenet.exceptions import DatasetError

__all__ = ["join_metadata", "LABELS_FROM"]

#: Accepted values of ``labels_from``.
LABELS_FROM = ("layout", "metadata")
_MAX_LISTED = 5


def _read(csv_path: str) -> tuple[list[str], list[list[str]]]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(c.strip() for c in r)]
    except OSError as e:
        raise DatasetError(
            f"Cannot read the metadata CSV {csv_path!r} ({e.strerror or e}). "
            f"Received: metadata={csv_path!r}"
        ) from None
    if not rows:
        raise DatasetError(
            f"The metadata CSV {csv_path!r} is empty; it needs a header row. "
            f"Received: metadata={csv_path!r}"
        )
    header = [h.strip() for h in rows[0]]
    return header, [[c.strip() for c in r] + [""] * (len(header) - len(r)) for r in rows[1:]]


def _key_of(manifest: Manifest) -> tuple[dict[str, int], dict[str, int]]:
    """Index of the manifest by file name and by path relative to its root."""
    by_name: dict[str, int] = {}
    by_rel: dict[str, int] = {}
    clash: set[str] = set()
    root = manifest.root if os.path.isdir(manifest.root) else os.path.dirname(manifest.root)
    for i, p in enumerate(manifest.paths):
        name = os.path.basename(p)
        if name in by_name:
            clash.add(name)
        by_name[name] = i
        if root:
            by_rel[os.path.relpath(p, root).replace(os.sep, "/")] = i
    for name in clash:
        del by_name[name]
    return by_name, by_rel


def _guess_key(header: list[str], rows: list[list[str]], by_name: dict, by_rel: dict) -> str:
    best, hits = "", 0
    for k, col in enumerate(header):
        n = sum(1 for r in rows if r[k] in by_name or r[k] in by_rel)
        if n > hits:
            best, hits = col, n
    if not hits:
        raise DatasetError(
            f"No column of the metadata CSV holds the images' file names (columns: {header}). "
            "Name the key column with on=... (--metadata-key on the command line). "
            "Received: on=None"
        )
    return best


def join_metadata(
    manifest: Manifest,
    csv_path: str | os.PathLike[str],
    *,
    on: str | None = None,
    columns: Sequence[str] | None = None,
    label_column: str | None = None,
    label_values: Mapping[str, str] | None = None,
    labels_from: str = "layout",
    categories: Mapping[str, Sequence[str]] | None = None,
) -> Manifest:
    """Joins a metadata CSV to a manifest by file name; its columns become image attributes.

    Args:
        manifest: The dataset (e.g. from :func:`~fracturenet.data.discover`).
        csv_path: The metadata table, with a header row.
        on: The key column: file names (``IMG0001.jpg``) or paths relative to the dataset
            root. ``None`` picks the column matching the most files. Defaults to `None`.
        columns: Columns to keep as attributes; ``None`` keeps all but the key and the
            label column. Defaults to `None`.
        label_column: A column that repeats the label, to check against the layout's
            label (and to use instead of it with ``labels_from="metadata"``). Defaults to
            `None`.
        label_values: Maps the label column's values to class names (e.g.
            ``{"1": "Fractured", "0": "Non_fractured"}``); ``None`` when the column holds
            class names already. Defaults to `None`.
        labels_from: Which label wins where the two disagree: ``"layout"`` (the folder or
            manifest) or ``"metadata"`` (the label column). Defaults to `"layout"`.
        categories: New attributes made from groups of 0/1 flag columns, e.g.
            ``{"region": ["hand", "leg", "hip", "shoulder"]}``: the value is the name of
            the flag set to 1, several joined by ``"+"``, or ``"none"``. Defaults to `None`.

    Returns:
        A new manifest with ``attributes`` set (``None`` for images without a row) and
        ``label_conflicts`` listing ``(path, layout label, metadata label)``.

    Raises:
        DatasetError: If the CSV cannot be read, a named column is missing, a key appears
            twice, a label value has no class, or no row matches any image.
        ValueError: If ``labels_from`` is not accepted.

    Warns:
        UserWarning: When labels disagree, or some images have no row.

    Example:
        >>> import pathlib, tempfile, warnings
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "meta.csv").write_text("image_id,hand,leg,fractured\\n"
        ...                                 "a.png,1,0,1\\nb.png,0,1,1\\n")
        >>> m = Manifest([str(d / "a.png"), str(d / "b.png")], [0, 1], ("no", "yes"),
        ...              root=str(d))
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     j = join_metadata(m, d / "meta.csv", label_column="fractured",
        ...                       label_values={"0": "no", "1": "yes"},
        ...                       categories={"region": ["hand", "leg"]})
        >>> j.attributes["region"], [c[1:] for c in j.label_conflicts]
        (('hand', 'leg'), [('no', 'yes')])
    """
    if labels_from not in LABELS_FROM:
        raise ValueError(
            f"`labels_from` must be one of {LABELS_FROM}. Received: labels_from={labels_from!r}"
        )
    path = os.fspath(csv_path)
    header, rows = _read(path)
    by_name, by_rel = _key_of(manifest)
    if on is None:
        on = _guess_key(header, rows, by_name, by_rel)
    wanted = [on] + ([label_column] if label_column else []) + list(columns or [])
    for flags in (categories or {}).values():
        wanted += list(flags)
    missing = [c for c in wanted if c not in header]
    if missing:
        raise DatasetError(
            f"The metadata CSV {path!r} has no column(s) {missing}; its columns are {header}. "
            f"Received: {missing[0]!r}"
        )
    col = {c: header.index(c) for c in header}
    keep = (
        list(columns)
        if columns is not None
        else [c for c in header if c not in (on, label_column) and c]
    )
    n = len(manifest)
    row_of: dict[int, list[str]] = {}
    unmatched = 0
    for r in rows:
        key = r[col[on]]
        i = by_rel.get(key.replace("\\", "/"), by_name.get(os.path.basename(key)))
        if i is None:
            unmatched += 1
            continue
        if i in row_of:
            raise DatasetError(
                f"The metadata CSV {path!r} has two rows for {key!r} (column {on!r}); keep "
                f"one row per image. Received: {on}={key!r}"
            )
        row_of[i] = r
    if not row_of:
        raise DatasetError(
            f"No row of the metadata CSV {path!r} matches an image of "
            f"{manifest.root or 'the manifest'} by column {on!r} (file name or relative "
            f"path). Received: on={on!r}"
        )
    attrs: dict[str, tuple[str | None, ...]] = {
        c: tuple(row_of[i][col[c]] if i in row_of else None for i in range(n)) for c in keep
    }
    for name, flags in (categories or {}).items():
        values: list[str | None] = []
        for i in range(n):
            if i not in row_of:
                values.append(None)
                continue
            on_flags = [f for f in flags if row_of[i][col[f]] not in ("", "0", "0.0")]
            values.append("+".join(on_flags) if on_flags else "none")
        attrs[name] = tuple(values)
    without = n - len(row_of)
    if without:
        warnings.warn(
            f"{without} of {n} images have no row in {path!r} (their attributes are None); "
            f"{unmatched} row(s) match no image.",
            UserWarning,
            stacklevel=2,
        )
    labels = list(manifest.labels)
    conflicts: list[tuple[str, str, str]] = []
    if label_column:
        index = {c: k for k, c in enumerate(manifest.class_names)}
        unknown = set()
        for i, r in row_of.items():
            raw = r[col[label_column]]
            name = (label_values or {}).get(raw, raw)
            if name not in index:
                unknown.add(raw)
                continue
            if index[name] != labels[i]:
                conflicts.append((manifest.paths[i], manifest.class_names[labels[i]], name))
                if labels_from == "metadata":
                    labels[i] = index[name]
        if unknown:
            raise DatasetError(
                f"Label column {label_column!r} of {path!r} has value(s) "
                f"{sorted(unknown)[:_MAX_LISTED]} that are not classes "
                f"{list(manifest.class_names)}; map them with label_values={{value: class}} "
                f"(--metadata-label on the command line). Received: label_values={label_values!r}"
            )
        if conflicts:
            listed = "; ".join(
                f"{os.path.basename(p)}: {a} (layout) vs {b} (metadata)"
                for p, a, b in conflicts[:_MAX_LISTED]
            )
            warnings.warn(
                f"{len(conflicts)} image(s) have a different label in {path!r} column "
                f"{label_column!r} than in the layout: {listed}"
                f"{' ...' if len(conflicts) > _MAX_LISTED else ''}. Using the "
                f"{labels_from}'s label (labels_from={labels_from!r}; the other choice is "
                f"{[x for x in LABELS_FROM if x != labels_from][0]!r}).",
                UserWarning,
                stacklevel=2,
            )
    return replace(
        manifest,
        labels=tuple(labels),
        attributes={**manifest.attributes, **attrs},
        label_conflicts=tuple(conflicts),
    )
