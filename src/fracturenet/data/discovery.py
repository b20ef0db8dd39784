"""Find images and labels on disk: one entry point, :func:`discover`, for every layout.

Recognised layouts (checked in this order):

* a CSV manifest file (``path,label[,split][,group]``), see :mod:`fracturenet.data.csv_manifest`;
* split first: ``<root>/<train|val|test>/<Class>/*`` (split names case-insensitive, ``valid``
  and ``validation`` mean ``"val"``);
* class first with splits, the Bone Break layout: ``<root>/<Class>/<Train|Test|Valid>/*``;
* flat: ``<root>/<Class>/*`` (images may sit in sub-folders of the class folder).

A root holding a single folder that itself holds the class folders (the doubly nested
``Bone Break Classification/Bone Break Classification/`` of the original download) is
unwrapped. Hidden files and folders, and files that are not images, are passed over and
counted in :attr:`Manifest.ignored` by reason; :attr:`Manifest.ignored_files` lists each
with its reason. In the class-first layout, when some class folders hold split folders, a
folder without any (``results/`` beside ``<Class>/Train``) is not a class: it is passed over.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from fracturenet.data.csv_manifest import read_csv_manifest
from fracturenet.data.manifest import Manifest, normalise_split
from fracturenet.data.metadata import join_metadata
from fracturenet.exceptions import DatasetError

__all__ = ["discover", "IMAGE_EXTENSIONS"]

#: File name extensions (lower case) that discovery treats as images.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".dcm", ".dicom"}
)

_ON_EMPTY = ("raise", "skip")
_MAX_UNWRAP = 4


class _Ignored(Counter):
    """Counts passed-over entries by reason and keeps each one's path."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[str, str]] = []

    def note(self, reason: str, path: str) -> None:
        self[reason] += 1
        self.entries.append((os.path.abspath(path), reason))


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name in {"__MACOSX", "Thumbs.db", "desktop.ini"}


def _looks_like_dicom(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def _is_image_file(path: str) -> bool:
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return True
    return ext == "" and _looks_like_dicom(path)


def _entries(folder: str, ignored: _Ignored) -> tuple[list[str], list[str]]:
    """Returns (visible sub-folder names, visible file names) of ``folder``, sorted."""
    dirs, files = [], []
    with os.scandir(folder) as it:
        for e in it:
            if _is_hidden(e.name):
                ignored.note("hidden", e.path)
            elif e.is_dir():
                dirs.append(e.name)
            else:
                files.append(e.name)
    return sorted(dirs), sorted(files)


def _walk_images(folder: str, ignored: _Ignored) -> list[str]:
    """Returns the image files below ``folder`` (recursively, sorted), counting the rest."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        keep = []
        for d in sorted(dirnames):
            if _is_hidden(d):
                ignored.note("hidden", os.path.join(dirpath, d))
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if _is_hidden(name):
                ignored.note("hidden", full)
            elif _is_image_file(full):
                out.append(full)
            else:
                ignored.note("not an image", full)
    return out


def _wrapped_child(folder: str, depth: int = 0) -> str | None:
    """Returns the only sub-folder of ``folder`` if ``folder`` merely wraps a dataset."""
    dirs, files = _entries(folder, _Ignored())
    if depth >= _MAX_UNWRAP or len(dirs) != 1 or normalise_split(dirs[0]) is not None:
        return None
    if any(_is_image_file(os.path.join(folder, f)) for f in files):
        return None
    child = os.path.join(folder, dirs[0])
    if len(_entries(child, _Ignored())[0]) >= 2 or _wrapped_child(child, depth + 1):
        return child
    return None


def _unwrap(root: str) -> str:
    """Descends through single wrapper folders such as ``Bone Break Classification/``."""
    for _ in range(_MAX_UNWRAP):
        child = _wrapped_child(root)
        if child is None:
            return root
        root = child
    return root


def _collect(
    class_dirs: dict[str, list[tuple[str, str | None]]], ignored: _Ignored, on_empty: str
) -> tuple[list[str], list[str], list[str | None]]:
    """Walks each (folder, split) of each class; returns paths, class names and splits."""
    paths: list[str] = []
    names: list[str] = []
    splits: list[str | None] = []
    for cls in sorted(class_dirs):
        found = [(p, s) for folder, s in class_dirs[cls] for p in _walk_images(folder, ignored)]
        if not found:
            where = ", ".join(repr(f) for f, _ in class_dirs[cls])
            if on_empty == "raise":
                raise DatasetError(
                    f"Class folder {cls!r} holds no images ({where}). Add images, remove the "
                    "folder, or pass on_empty='skip' to leave the class out. "
                    f"Received: on_empty={on_empty!r}"
                )
            for f, _ in class_dirs[cls]:
                ignored.note("empty class folder", f)
            continue
        for p, s in found:
            paths.append(os.path.abspath(p))
            names.append(cls)
            splits.append(s)
    return paths, names, splits


def _layout_split_first(root: str, dirs: list[str], ignored: _Ignored) -> dict:
    class_dirs: dict[str, list[tuple[str, str | None]]] = {}
    for d in dirs:
        split = normalise_split(d)
        sub_dirs, files = _entries(os.path.join(root, d), ignored)
        for f in files:
            full = os.path.join(root, d, f)
            reason = "image outside a class folder" if _is_image_file(full) else "not an image"
            ignored.note(reason, full)
        for cls in sub_dirs:
            class_dirs.setdefault(cls, []).append((os.path.join(root, d, cls), split))
    return class_dirs


def _layout_class_first(root: str, dirs: list[str], ignored: _Ignored) -> dict:
    class_dirs: dict[str, list[tuple[str, str | None]]] = {}
    listed = {}
    for cls in dirs:
        local = _Ignored()
        listed[cls] = (_entries(os.path.join(root, cls), local), local)
    has_splits = {
        cls: any(normalise_split(d) is not None for d in sub_dirs)
        for cls, ((sub_dirs, _), _) in listed.items()
    }
    for cls, ((sub_dirs, files), local) in listed.items():
        folder = os.path.join(root, cls)
        split_dirs = [d for d in sub_dirs if normalise_split(d) is not None]
        if not split_dirs:
            if any(has_splits.values()):  # e.g. results/ beside <Class>/Train, <Class>/Test
                ignored.note("folder without split folders beside class folders with them", folder)
            else:
                class_dirs[cls] = [(folder, None)]
            continue
        # Bone Break layout: <Class>/<Split>/*; loose files beside the split folders
        # belong to no split.
        class_dirs[cls] = [(os.path.join(folder, d), normalise_split(d)) for d in split_dirs]
        ignored.update(local)
        ignored.entries.extend(local.entries)
        for f in files:
            full = os.path.join(folder, f)
            reason = "image outside a split folder" if _is_image_file(full) else "not an image"
            ignored.note(reason, full)
        for d in sub_dirs:
            if d not in split_dirs:
                ignored.note("folder beside split folders", os.path.join(folder, d))
    return class_dirs


def discover(
    path: str | os.PathLike[str],
    *,
    on_empty: str = "raise",
    metadata: str | os.PathLike[str] | None = None,
    metadata_key: str | None = None,
) -> Manifest:
    """Finds the images, labels and splits of a dataset folder or CSV manifest.

    Class names are the class folder names (or CSV labels), sorted, so label ``i`` is
    ``class_names[i]`` whatever the file system order. Splits are normalised to
    ``"train"``, ``"val"`` and ``"test"``; layouts without splits give ``None``.

    Args:
        path: Dataset root folder, or a ``.csv`` manifest with columns ``path`` and
            ``label`` (optional ``split`` and ``group``; relative paths are resolved
            against the CSV's folder).
        on_empty: What to do with a class folder that holds no image: ``"raise"`` a
            :class:`DatasetError` naming it, or ``"skip"`` the class (counted in
            ``Manifest.ignored["empty class folder"]``). Defaults to `"raise"`.
        metadata: A CSV describing the images (one row per file, e.g. FracAtlas'
            ``dataset.csv``), joined by file name: its columns become
            ``Manifest.attributes``. For label checks and flag groups call
            :func:`~fracturenet.data.join_metadata` instead. Defaults to `None`.
        metadata_key: The CSV column holding file names; ``None`` picks the column that
            matches the most files. Defaults to `None`.

    Returns:
        The :class:`Manifest`; ``ignored`` counts hidden entries and non-image files.

    Raises:
        DatasetError: If ``path`` does not exist, holds no images, holds a single class,
            has an empty class folder (with ``on_empty="raise"``), mixes split and class
            folders at the top level, or is a CSV with missing columns or unknown files.

    Example:
        >>> import tempfile, pathlib
        >>> from PIL import Image
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> for cls in ("Spiral fracture", "Oblique fracture"):
        ...     (root / cls / "Train").mkdir(parents=True)
        ...     Image.new("L", (8, 8)).save(root / cls / "Train" / "a.jpg")
        >>> m = discover(root)
        >>> m.class_names, m.splits, len(m)
        (('Oblique fracture', 'Spiral fracture'), ('train', 'train'), 2)
    """
    if on_empty not in _ON_EMPTY:
        raise ValueError(f"on_empty must be one of {_ON_EMPTY}. Received: on_empty={on_empty!r}")
    root = os.path.abspath(os.fspath(path))
    if not os.path.exists(root):
        raise DatasetError(
            f"Dataset path {root!r} does not exist. Pass a folder of class folders or a CSV "
            f"manifest. Received: path={os.fspath(path)!r}"
        )
    if metadata is not None:
        return join_metadata(discover(path, on_empty=on_empty), metadata, on=metadata_key)
    if os.path.isfile(root):
        if Path(root).suffix.lower() != ".csv":
            raise DatasetError(
                f"Dataset path {root!r} is a file but not a .csv manifest. Pass a folder of "
                f"class folders or a CSV with columns path,label. Received: path={root!r}"
            )
        return read_csv_manifest(root)

    ignored = _Ignored()
    top = _unwrap(root)
    dirs, files = _entries(top, ignored)
    loose_images = [f for f in files if _is_image_file(os.path.join(top, f))]
    for f in files:
        if f not in loose_images:
            ignored.note("not an image", os.path.join(top, f))
    split_named = [d for d in dirs if normalise_split(d) is not None]
    if split_named and len(split_named) != len(dirs):
        others = [d for d in dirs if d not in split_named]
        raise DatasetError(
            f"{top!r} mixes split folders {split_named} with other folders {others}. Use "
            "either <split>/<Class>/* or <Class>/[<split>/]*, not both. "
            f"Received: path={os.fspath(path)!r}"
        )
    if split_named:
        class_dirs = _layout_split_first(top, dirs, ignored)
    else:
        class_dirs = _layout_class_first(top, dirs, ignored)
    for f in loose_images:
        ignored.note("image outside a class folder", os.path.join(top, f))

    paths, names, splits = _collect(class_dirs, ignored, on_empty)
    if not paths:
        raise DatasetError(
            f"No images found in {top!r} (accepted extensions: {sorted(IMAGE_EXTENSIONS)}; "
            f"passed over: {dict(ignored) or 'nothing'}). Expected one folder per class. "
            f"Received: path={os.fspath(path)!r}"
        )
    class_names = sorted(set(names))
    if len(class_names) < 2:
        raise DatasetError(
            f"Found a single class {class_names[0]!r} in {top!r}; classification needs at "
            "least two class folders, e.g. <root>/<Class A>/*.jpg and <root>/<Class B>/*.jpg. "
            f"Received: path={os.fspath(path)!r}"
        )
    index = {c: i for i, c in enumerate(class_names)}
    return Manifest(
        paths=tuple(paths),
        labels=tuple(index[c] for c in names),
        class_names=tuple(class_names),
        splits=tuple(splits),
        root=top,
        ignored={k: v for k, v in sorted(ignored.items()) if v},
        ignored_files=tuple(ignored.entries),
    )
