"""Synthetic phantom dataset: radiograph-like long bones with one fracture pattern per class.

This is a **pipeline test bed, not medical data**. The images are drawn procedurally (a
projected hollow-cylinder bone on soft tissue, random pose, scale, contrast, blur and noise)
and written in the Bone Break layout ``<root>/<Class>/Train|Test/*.png`` (8-bit grayscale PNG,
mode ``"L"``), so every loader, split, model and explanation path can be exercised quickly and
offline. The generator knows where each fracture is: the masks are written to the hidden
folder ``<root>/.masks`` (ignored by loaders) and read back with :func:`load_fracture_mask`.

Example:
    >>> import tempfile
    >>> from fracturenet.phantoms import make_synthetic_fractures
    >>> m = make_synthetic_fractures(tempfile.mkdtemp(), images_per_class=4, image_size=32)
    >>> m.num_classes, len(m), sorted(set(m.splits))
    (8, 32, ['test', 'train'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from fracturenet.data.manifest import Manifest
from fracturenet.exceptions import DatasetError
from fracturenet.phantoms._draw import draw_phantom
from fracturenet.phantoms._store import (
    FORMAT,
    MASK_DIR,
    STAMP_NAME,
    foreign_files,
    is_intact,
    read_stamp,
    remove_generated,
    write_stamp,
)

__all__ = [
    "PHANTOM_CLASSES",
    "NO_FRACTURE",
    "render_phantom",
    "make_synthetic_fractures",
    "load_fracture_mask",
]

NO_FRACTURE = "No fracture"
# Folder name -> drawing pattern. Names follow the Bone Break dataset (spaces, mixed case).
_KINDS: dict[str, str] = {
    "Avulsion fracture": "avulsion",
    "Comminuted fracture": "comminuted",
    "Greenstick fracture": "greenstick",
    "Hairline Fracture": "hairline",
    "Impacted fracture": "impacted",
    "Oblique fracture": "oblique",
    "Spiral Fracture": "spiral",
    "Transverse fracture": "transverse",
    NO_FRACTURE: "normal",
}
#: Every class folder name the generator can draw; the last one, ``"No fracture"``, is optional.
PHANTOM_CLASSES: tuple[str, ...] = tuple(_KINDS)

_SPLIT_DIRS = {"train": "Train", "test": "Test"}


def _resolve_class(name: object, argument: str) -> str:
    if isinstance(name, str):
        for cls, kind in _KINDS.items():
            if name.strip().lower() in (cls.lower(), kind):
                return cls
    raise DatasetError(
        f"Unknown phantom class in `{argument}`. Accepted values: {list(PHANTOM_CLASSES)} "
        f"(or their short keys {list(_KINDS.values())}, any case). Received: {argument}={name!r}"
    )


def render_phantom(
    fracture_type: str, *, image_size: int = 128, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Draws one radiograph-like long-bone phantom and the mask of its fracture.

    Args:
        fracture_type: A class name from :data:`PHANTOM_CLASSES` (e.g. ``"Spiral Fracture"``)
            or its short key (``"spiral"``, ``"normal"``), case-insensitive.
        image_size: Side of the square image in pixels, 32 to 1024. Defaults to `128`.
        seed: Non-negative seed; the same arguments always give the same pixels. One seed
            draws the same bone, pose and noise for every class, broken differently, so
            ``render_phantom(c, seed=s)`` and ``render_phantom("No fracture", seed=s)`` form
            a fractured/intact pair. Defaults to `0`.

    Returns:
        ``(image, mask)``: the uint8 grayscale image of shape ``(image_size, image_size)``
        (bright bone on dark soft tissue) and a bool mask of the same shape marking the
        fracture region (all ``False`` for ``"No fracture"``).

    Raises:
        DatasetError: If ``fracture_type`` is unknown (the message lists the valid names),
            or ``image_size`` or ``seed`` is out of range.

    Example:
        >>> image, mask = render_phantom("Transverse fracture", image_size=64, seed=3)
        >>> image.shape, image.dtype.name, bool(mask.any())
        ((64, 64), 'uint8', True)
    """
    cls = _resolve_class(fracture_type, "fracture_type")
    _check_int("image_size", image_size, 32, 1024)
    _check_int("seed", seed, 0, None)
    return draw_phantom(_KINDS[cls], image_size, np.random.default_rng(seed))


def _check_int(name: str, value: object, low: int, high: int | None) -> None:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise DatasetError(f"`{name}` must be an integer {bound}. Received: {name}={value!r}")


def _resolve_classes(classes: Sequence[str] | None, include_normal: bool) -> list[str]:
    if classes is None:
        resolved = list(PHANTOM_CLASSES[:-1])
    elif isinstance(classes, str) or not isinstance(classes, Sequence) or not classes:
        raise DatasetError(
            "`classes` must be a non-empty list of class names from "
            f"{list(PHANTOM_CLASSES)}, or None for all fracture classes. "
            f"Received: classes={classes!r}"
        )
    else:
        resolved = [_resolve_class(c, "classes") for c in classes]
        dupes = sorted({c for c in resolved if resolved.count(c) > 1})
        if dupes:
            raise DatasetError(
                f"`classes` names {dupes} more than once. Received: classes={list(classes)!r}"
            )
    if include_normal and NO_FRACTURE not in resolved:
        resolved.append(NO_FRACTURE)
    return sorted(resolved)


def _plan(args: dict) -> list[tuple[str, str, str, int]]:
    """Returns ``(class, split, file name, seed)`` for every image, in manifest order."""
    n = args["images_per_class"]
    n_test = min(max(round(n * args["test_fraction"]), 1), n - 1)
    plan = []
    for cls in args["classes"]:
        slug = cls.lower().replace(" ", "_")
        code = PHANTOM_CLASSES.index(cls)
        for i in range(n):
            split = "train" if i < n - n_test else "test"
            state = np.random.SeedSequence([args["seed"], code, i]).generate_state(2)
            seed = int(state[0]) << 32 | int(state[1])
            plan.append((cls, split, f"{slug}_{i:04d}.png", seed))
    return plan


def _image_rel(cls: str, split: str, name: str) -> str:
    return f"{cls}/{_SPLIT_DIRS[split]}/{name}"


def _manifest(root: str, args: dict, plan: list) -> Manifest:
    classes = args["classes"]
    return Manifest(
        paths=tuple(os.path.join(root, _image_rel(c, s, f)) for c, s, f, _ in plan),
        labels=tuple(classes.index(c) for c, _, _, _ in plan),
        class_names=tuple(classes),
        splits=tuple(s for _, s, _, _ in plan),
        root=root,
    )


def _png_bytes_written(path: str, array: np.ndarray) -> int:
    Image.fromarray(array).save(path, format="PNG")
    return os.path.getsize(path)


def make_synthetic_fractures(
    root: str | os.PathLike[str],
    *,
    classes: Sequence[str] | None = None,
    images_per_class: int = 40,
    test_fraction: float = 0.25,
    image_size: int = 128,
    seed: int = 0,
    include_normal: bool = False,
    overwrite: bool = False,
) -> Manifest:
    """Writes a phantom dataset in the Bone Break layout and returns its manifest.

    Images go to ``<root>/<Class>/Train/*.png`` and ``<root>/<Class>/Test/*.png`` (8-bit
    grayscale PNG), fracture masks to ``<root>/.masks/<Class>/<Train|Test>/*.png`` and the
    arguments, file list and package version to the stamp ``<root>/.fracturenet-synthetic.json``.
    The output is bit-identical for identical arguments, and an image does not depend on which
    other classes are generated. Calling again with identical arguments on a complete folder
    returns the manifest without writing anything, so the folder works as a cache.

    Phantoms are a pipeline test bed, not medical data.

    Args:
        root: Output folder. It must be missing, empty, or a folder this function wrote.
        classes: Class names from :data:`PHANTOM_CLASSES` (or short keys such as
            ``"spiral"``). Defaults to `None`: the eight fracture classes.
        images_per_class: Images per class, split between Train and Test; at least 2.
            Defaults to `40`.
        test_fraction: Share of each class written to Test, in (0, 1); rounded, with at
            least one image in each split. Defaults to `0.25`.
        image_size: Side of the square images in pixels, 32 to 1024. Defaults to `128`.
        seed: Non-negative seed of the whole dataset. Defaults to `0`.
        include_normal: Also write the ``"No fracture"`` class. Defaults to `False`.
        overwrite: Replace a phantom folder made with other arguments. Only files listed in
            its stamp are removed; a folder without a stamp, or holding files the generator
            did not write, is never touched. Defaults to `False`.

    Returns:
        A :class:`~fracturenet.data.manifest.Manifest` with absolute paths, sorted class
        names, splits ``"train"``/``"test"`` and ``root`` set to the absolute ``root``.

    Raises:
        DatasetError: If an argument is invalid, ``root`` is a file, or ``root`` is non-empty
            and not a phantom folder with identical arguments (pass ``overwrite=True`` to
            replace phantoms made with other arguments).

    Example:
        >>> import os, tempfile
        >>> root = os.path.join(tempfile.mkdtemp(), "phantoms")
        >>> m = make_synthetic_fractures(root, classes=["spiral", "Hairline Fracture"],
        ...                              images_per_class=4, image_size=32)
        >>> m.class_names, m.class_counts()
        (('Hairline Fracture', 'Spiral Fracture'), {'Hairline Fracture': 4, 'Spiral Fracture': 4})
        >>> sorted(os.listdir(os.path.join(root, "Spiral Fracture")))
        ['Test', 'Train']
        >>> make_synthetic_fractures(root, classes=["spiral", "hairline"],
        ...                          images_per_class=4, image_size=32) == m
        True
    """
    _check_int("images_per_class", images_per_class, 2, None)
    _check_int("image_size", image_size, 32, 1024)
    _check_int("seed", seed, 0, None)
    if (
        isinstance(test_fraction, bool)
        or not isinstance(test_fraction, (int, float, np.floating))
        or not 0.0 < test_fraction < 1.0
    ):
        raise DatasetError(
            "`test_fraction` must be a number strictly between 0 and 1. "
            f"Received: test_fraction={test_fraction!r}"
        )
    args = {
        "classes": _resolve_classes(classes, bool(include_normal)),
        "images_per_class": int(images_per_class),
        "test_fraction": float(test_fraction),
        "image_size": int(image_size),
        "seed": int(seed),
    }
    root = os.path.abspath(os.fspath(root))
    plan = _plan(args)
    if os.path.exists(root) and not os.path.isdir(root):
        raise DatasetError(f"`root` is a file, not a folder. Received: root={root!r}")
    stamp = read_stamp(root)
    if stamp is not None:
        same = stamp.get("format") == FORMAT and stamp.get("arguments") == args
        if same and stamp.get("complete") and is_intact(root, stamp):
            return _manifest(root, args, plan)
        if not same and not overwrite:
            raise DatasetError(
                f"{root!r} holds phantoms made with other arguments ({stamp.get('arguments')}, "
                f"format {stamp.get('format')}). Pass overwrite=True to replace them, or choose "
                f"another root. Received: root={root!r}"
            )
        foreign = foreign_files(root, stamp)
        if foreign:
            raise DatasetError(
                f"{root!r} holds {len(foreign)} file(s) the phantom generator did not write "
                f"(e.g. {foreign[:3]}); it never deletes or mixes in foreign files. Move them "
                f"away or choose another root. Received: root={root!r}"
            )
        remove_generated(root, stamp)
    elif os.path.isdir(root) and os.listdir(root):
        raise DatasetError(
            f"{root!r} is not empty and has no phantom stamp ({STAMP_NAME}), so it was not "
            "written by make_synthetic_fractures; overwrite=True only replaces phantom folders. "
            f"Choose a new or empty folder. Received: root={root!r}"
        )
    _generate(root, args, plan)
    return _manifest(root, args, plan)


def _generate(root: str, args: dict, plan: list) -> None:
    """Writes every image and mask of ``plan``; the stamp first (incomplete), then final."""
    rels = [(_image_rel(c, s, f), f"{MASK_DIR}/{_image_rel(c, s, f)}") for c, s, f, _ in plan]
    os.makedirs(root, exist_ok=True)
    write_stamp(root, args, {rel: None for pair in rels for rel in pair}, complete=False)
    sizes: dict[str, int] = {}
    for (cls, _, _, seed), (image_rel, mask_rel) in zip(plan, rels, strict=True):
        rng = np.random.default_rng(seed)
        image, mask = draw_phantom(_KINDS[cls], args["image_size"], rng)
        for rel, array in ((image_rel, image), (mask_rel, mask)):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            sizes[rel] = _png_bytes_written(path, array)
    write_stamp(root, args, sizes, complete=True)


def load_fracture_mask(image_path: str | os.PathLike[str]) -> np.ndarray:
    """Reads the fracture mask of an image written by :func:`make_synthetic_fractures`.

    Args:
        image_path: Path of a generated image, ``<root>/<Class>/<Train|Test>/<name>.png``.

    Returns:
        Bool array of the image's shape, ``True`` on the fracture region (all ``False`` for
        ``"No fracture"`` images).

    Raises:
        DatasetError: If no mask exists for ``image_path`` (it is not a generated phantom, or
            the hidden ``.masks`` folder was not copied along with the images).

    Example:
        >>> import tempfile
        >>> m = make_synthetic_fractures(tempfile.mkdtemp(), classes=["oblique"],
        ...                              images_per_class=2, image_size=32)
        >>> mask = load_fracture_mask(m.paths[0])
        >>> mask.shape, mask.dtype.name, bool(mask.any())
        ((32, 32), 'bool', True)
    """
    path = Path(os.path.abspath(os.fspath(image_path)))
    split_dir, cls_dir = path.parent, path.parent.parent
    mask_path = cls_dir.parent / MASK_DIR / cls_dir.name / split_dir.name / path.name
    if not mask_path.is_file():
        raise DatasetError(
            f"No fracture mask for {str(path)!r}: expected {str(mask_path)!r}. Masks exist only "
            "for images written by make_synthetic_fractures, in the hidden .masks folder of "
            f"its root (copy it along with the images). Received: image_path={str(path)!r}"
        )
    with Image.open(mask_path) as mask:
        return np.asarray(mask.convert("L")) > 0
