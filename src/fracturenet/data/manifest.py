"""The dataset description every other layer consumes: :class:`Manifest`.

A manifest is an immutable list of image files with integer labels, the class names in a
stable order, the split each file belongs to (when the layout has one) and an optional group
id (patient, study, or a duplicate cluster found by the audit) that splits keep together.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from fracturenet.data.annotations import ImageAnnotation
from fracturenet.exceptions import DatasetError

__all__ = ["Manifest", "normalise_split"]

#: Column names of a CSV manifest; attributes may not take them.
_RESERVED = frozenset({"path", "label", "split", "group"})

_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


def normalise_split(name: str) -> str | None:
    """Maps a split folder or column value to ``"train"``, ``"val"`` or ``"test"``.

    Args:
        name: Split name in any case, e.g. ``"Train"``, ``"VALID"``, ``"validation"``.

    Returns:
        The normalised split name, or ``None`` when ``name`` is not a split name.

    Example:
        >>> normalise_split("Valid"), normalise_split("TEST"), normalise_split("Oblique")
        ('val', 'test', None)
    """
    return _SPLIT_ALIASES.get(name.strip().lower())


@dataclass(frozen=True)
class Manifest:
    """Immutable description of an image classification dataset.

    Attributes:
        paths: Absolute file paths, one per image.
        labels: Integer label of each image, an index into ``class_names``.
        class_names: Class names in a stable (sorted) order.
        splits: Split name of each image (``"train"``, ``"val"``, ``"test"``) or ``None``
            when the layout has no splits.
        groups: Group id of each image or ``None``; images of a group never straddle splits.
        root: The folder or manifest file the dataset was discovered from.
        ignored: Counts of files passed over during discovery, by reason
            (e.g. ``{"hidden": 2, "not an image": 1}``).
        ignored_files: ``(path, reason)`` of each file or folder passed over during
            discovery (a hidden folder is listed once, not its contents).
        attributes: Per-image attributes by name (e.g. a body region joined from a metadata
            CSV with :func:`~fracturenet.data.join_metadata`), each a tuple of strings (``None`` where
            unknown) with one entry per image. Splits can stratify or group by them and
            reports can break results down by them.
        label_conflicts: ``(path, label from the layout, label from the metadata)`` of each
            image whose two labels disagree, from :func:`~fracturenet.data.join_metadata`.
        annotations: Each image's annotated regions (fracture outlines or boxes) or
            ``None``, from :meth:`with_annotations`.

    Example:
        >>> m = Manifest(paths=("/d/a.png", "/d/b.png"), labels=(0, 1),
        ...              class_names=("Oblique", "Spiral"))
        >>> len(m), m.class_counts()
        (2, {'Oblique': 1, 'Spiral': 1})
    """

    paths: tuple[str, ...]
    labels: tuple[int, ...]
    class_names: tuple[str, ...]
    splits: tuple[str | None, ...] = ()
    groups: tuple[str | None, ...] = ()
    root: str = ""
    ignored: Mapping[str, int] = field(default_factory=dict)
    ignored_files: tuple[tuple[str, str], ...] = ()
    attributes: Mapping[str, tuple[str | None, ...]] = field(default_factory=dict)
    label_conflicts: tuple[tuple[str, str, str], ...] = ()
    annotations: tuple[ImageAnnotation | None, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.paths)
        object.__setattr__(self, "paths", tuple(str(p) for p in self.paths))
        object.__setattr__(self, "labels", tuple(int(x) for x in self.labels))
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        if not self.splits:
            object.__setattr__(self, "splits", (None,) * n)
        if not self.groups:
            object.__setattr__(self, "groups", (None,) * n)
        if not self.annotations:
            object.__setattr__(self, "annotations", (None,) * n)
        object.__setattr__(self, "splits", tuple(self.splits))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "annotations", tuple(self.annotations))
        for name in ("labels", "splits", "groups", "annotations"):
            if len(getattr(self, name)) != n:
                raise DatasetError(
                    f"Manifest field {name!r} has {len(getattr(self, name))} entries but "
                    f"there are {n} paths. Received: len({name})={len(getattr(self, name))}"
                )
        attrs = {}
        for name, values in dict(self.attributes).items():
            values = tuple(None if v is None else str(v) for v in values)
            if len(values) != n:
                raise DatasetError(
                    f"Manifest attribute {name!r} has {len(values)} entries but there are {n} "
                    f"paths. Received: len(attributes[{name!r}])={len(values)}"
                )
            if name in _RESERVED:
                raise DatasetError(
                    f"Manifest attribute names must not be one of {sorted(_RESERVED)}. "
                    f"Received: attribute={name!r}"
                )
            attrs[str(name)] = values
        object.__setattr__(self, "attributes", attrs)
        k = len(self.class_names)
        bad = [x for x in self.labels if not 0 <= x < k]
        if bad:
            raise DatasetError(
                f"Manifest labels must lie in [0, {k}) for {k} class names. "
                f"Received: labels={sorted(set(bad))[:5]}"
            )

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def class_counts(self) -> dict[str, int]:
        """Returns the number of images per class name, in class order."""
        counts = Counter(self.labels)
        return {name: counts.get(i, 0) for i, name in enumerate(self.class_names)}

    def split_names(self) -> list[str]:
        """Returns the split names present, in first-seen order (``None`` excluded)."""
        seen: dict[str, None] = {}
        for s in self.splits:
            if s is not None:
                seen.setdefault(s, None)
        return list(seen)

    def select(self, indices: Iterable[int]) -> Manifest:
        """Returns a manifest with only the images at ``indices`` (class names kept).

        Args:
            indices: Positions to keep, in the order given.

        Returns:
            A new manifest.
        """
        idx = [int(i) for i in indices]
        return replace(
            self,
            paths=tuple(self.paths[i] for i in idx),
            labels=tuple(self.labels[i] for i in idx),
            splits=tuple(self.splits[i] for i in idx),
            groups=tuple(self.groups[i] for i in idx),
            attributes={k: tuple(v[i] for i in idx) for k, v in self.attributes.items()},
            annotations=tuple(self.annotations[i] for i in idx),
        )

    def subset(self, split: str) -> Manifest:
        """Returns the images of one split.

        Args:
            split: Split name, e.g. ``"train"``.

        Returns:
            A new manifest with the images whose split is ``split``.

        Raises:
            DatasetError: If no image belongs to ``split``; the message lists those present.
        """
        idx = [i for i, s in enumerate(self.splits) if s == split]
        if not idx:
            raise DatasetError(
                f"No images in split {split!r} of {self.root or 'the manifest'}. "
                f"Splits present: {self.split_names() or 'none'}. Received: split={split!r}"
            )
        return self.select(idx)

    def with_splits(self, splits: Sequence[str | None]) -> Manifest:
        """Returns a copy with the split of every image replaced."""
        return replace(self, splits=tuple(splits))

    def with_groups(self, groups: Sequence[str | None]) -> Manifest:
        """Returns a copy with the group of every image replaced."""
        return replace(self, groups=tuple(groups))

    def with_annotations(self, annotations: Mapping[str, ImageAnnotation]) -> Manifest:
        """Returns a copy carrying each image's annotated regions, matched by file name.

        Args:
            annotations: ``{file name: ImageAnnotation}``, as
                :func:`~fracturenet.data.read_coco` or :func:`~fracturenet.data.read_yolo`
                return them. Images without an entry get ``None``.

        Returns:
            A new manifest; :meth:`select`, :meth:`subset` and the splits keep the
            annotations with their images. Masks come from
            :func:`~fracturenet.data.annotation_mask` (the image's stored size) and
            :func:`~fracturenet.data.fit_mask` (the model's letterbox, stretch or crop).

        Example:
            >>> from fracturenet.data import ImageAnnotation
            >>> m = Manifest(paths=("/d/a.jpg", "/d/b.jpg"), labels=(1, 0), class_names=("n", "y"))
            >>> a = ImageAnnotation("a.jpg", height=4, width=4, boxes=((0, 0, 2, 2),))
            >>> [len(x) if x else None for x in m.with_annotations({"a.jpg": a}).annotations]
            [1, None]
        """
        from fracturenet.data.annotations import annotations_for

        return replace(self, annotations=tuple(annotations_for(self.paths, annotations)))

    def with_attributes(self, **columns: Sequence[str | None]) -> Manifest:
        """Returns a copy with per-image attributes added or replaced (one value per image).

        Example:
            >>> m = Manifest(("/d/a.png", "/d/b.png"), (0, 1), ("x", "y"))
            >>> m.with_attributes(region=["hand", "leg"]).attributes["region"]
            ('hand', 'leg')
        """
        return replace(self, attributes={**self.attributes, **columns})

    def attribute(self, name: str) -> tuple[str | None, ...]:
        """Returns the values of one attribute.

        Raises:
            DatasetError: If the manifest has no such attribute; the message lists those it has.
        """
        if name not in self.attributes:
            raise DatasetError(
                f"The manifest has no attribute {name!r}; it has {sorted(self.attributes) or 'none'} "
                "(join a metadata CSV with fracturenet.data.join_metadata or discover(..., metadata=...)). "
                f"Received: name={name!r}"
            )
        return self.attributes[name]

    def to_csv(self, path: str | os.PathLike[str]) -> str:
        """Writes the manifest as CSV with columns ``path,label,split,group`` and one column
        per attribute (read back as attributes by :func:`~fracturenet.data.discover`).

        Paths are written relative to the CSV's folder when they lie below it. The file must
        not exist yet: a manifest never overwrites a file.

        Args:
            path: Output CSV file.

        Returns:
            The path written.

        Raises:
            FileExistsError: If ``path`` already exists.
        """
        path = os.fspath(path)
        base = os.path.dirname(os.path.abspath(path))
        with open(path, "x", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            names = list(self.attributes)
            w.writerow(["path", "label", "split", "group", *names])
            for i, (p, y, s, g) in enumerate(
                zip(self.paths, self.labels, self.splits, self.groups, strict=True)
            ):
                rel = os.path.relpath(p, base)
                out = p if rel.startswith("..") else rel
                extra = [self.attributes[k][i] or "" for k in names]
                w.writerow([out, self.class_names[y], s or "", g or "", *extra])
        return path
