"""Expert outlines as data: COCO boxes and polygons, YOLO boxes, rasterised on demand.

Coordinates are pixels of the image as :func:`~fracturenet.data.load_image` returns it
(EXIF orientation applied; for FracAtlas the two oriented fractured images carry outlines in
that upright frame). A pixel ``(row, col)`` covers ``[col, col + 1) x [row, row + 1)`` and is
inside a shape when its centre ``(col + 0.5, row + 0.5)`` is (even-odd rule for polygons).
:func:`fit_mask` maps a mask through exactly the resize the model input uses
(:func:`~fracturenet.data.resize_image`), so it lands where the model saw the region.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fracturenet.data.resize import resize_image
from fracturenet.exceptions import DatasetError

__all__ = [
    "ImageAnnotation",
    "annotation_mask",
    "annotations_for",
    "fit_mask",
    "read_coco",
    "read_yolo",
]

SHAPES = ("outline", "box")


@dataclass(frozen=True)
class ImageAnnotation:
    """The annotated regions of one image.

    Attributes:
        file_name: The image's file name (no folder), the key used to match images.
        height: Image height in pixels the coordinates refer to.
        width: Image width in pixels.
        boxes: ``(x, y, w, h)`` per region, pixels from the top-left corner.
        polygons: Per region a tuple of polygons, each a flat ``(x1, y1, x2, y2, ...)``
            tuple; empty for box-only sources such as YOLO.
    """

    file_name: str
    height: int
    width: int
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    polygons: tuple[tuple[tuple[float, ...], ...], ...] = ()

    def __len__(self) -> int:
        return len(self.boxes)


def _box_mask(hw: tuple[int, int], box: Sequence[float]) -> np.ndarray:
    x, y, w, h = (float(v) for v in box)
    cols = np.arange(hw[1]) + 0.5
    rows = np.arange(hw[0]) + 0.5
    return ((rows >= y) & (rows < y + h))[:, None] & ((cols >= x) & (cols < x + w))[None, :]


def _polygon_mask(hw: tuple[int, int], flat: Sequence[float]) -> np.ndarray:
    """Even-odd fill of one polygon, sampling pixel centres row by row."""
    pts = np.asarray(flat, dtype=np.float64).reshape(-1, 2)
    mask = np.zeros(hw, dtype=bool)
    if len(pts) < 3:
        return mask
    x0, y0 = pts[:, 0], pts[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    cols = np.arange(hw[1]) + 0.5
    top = max(0, int(np.floor(y0.min())))
    bottom = min(hw[0], int(np.ceil(y0.max())) + 1)
    for row in range(top, bottom):
        yc = row + 0.5
        crosses = (y0 <= yc) != (y1 <= yc)  # half-open: a vertex is counted once
        if not crosses.any():
            continue
        xs = np.sort(
            x0[crosses]
            + (yc - y0[crosses]) * (x1[crosses] - x0[crosses]) / (y1[crosses] - y0[crosses])
        )
        inside = np.zeros(hw[1], dtype=bool)
        for a, b in zip(xs[0::2], xs[1::2], strict=False):
            inside |= (cols >= a) & (cols < b)
        mask[row] = inside
    return mask


def annotation_mask(annotation: ImageAnnotation, *, shape: str = "outline") -> np.ndarray:
    """Rasterises an image's regions at its stored size.

    Args:
        annotation: The image's :class:`ImageAnnotation`.
        shape: ``"outline"`` (the polygons; a region without one falls back to its box) or
            ``"box"`` (the bounding boxes). Defaults to `"outline"`.

    Returns:
        A boolean ``(height, width)`` mask, the union of the regions.

    Raises:
        DatasetError: For an unknown ``shape``.

    Example:
        >>> a = ImageAnnotation("x.png", 4, 6, boxes=((1, 1, 3, 2),),
        ...                     polygons=(((1, 1, 4, 1, 4, 3, 1, 3),),))
        >>> annotation_mask(a).astype(int).tolist()
        [[0, 0, 0, 0, 0, 0], [0, 1, 1, 1, 0, 0], [0, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0]]
    """
    if shape not in SHAPES:
        raise DatasetError(
            f"Argument `shape` must be one of {list(SHAPES)}. Received: shape={shape!r}"
        )
    hw = (annotation.height, annotation.width)
    mask = np.zeros(hw, dtype=bool)
    for i, box in enumerate(annotation.boxes):
        outlines = annotation.polygons[i] if i < len(annotation.polygons) else ()
        if shape == "outline" and outlines:
            region = np.zeros(hw, dtype=bool)
            for flat in outlines:
                region ^= _polygon_mask(hw, flat)  # holes drawn as a second ring stay holes
            mask |= region
        else:
            mask |= _box_mask(hw, box)
    return mask


def fit_mask(mask: np.ndarray, size: int | tuple[int, int], mode: str = "letterbox") -> np.ndarray:
    """Maps a mask on the original image onto the model input, as the image is mapped.

    The mask goes through :func:`~fracturenet.data.resize_image` with the same ``size``
    and ``mode`` as the image (bilinear, antialiased) and is cut at 0.5, so a region lands
    on the input pixels its image pixels land on (letterbox padding and crop included).

    Args:
        mask: Boolean ``(H, W)`` mask on the original image.
        size: The model input side, or ``(height, width)``.
        mode: ``"letterbox"``, ``"stretch"`` or ``"crop"``. Defaults to `"letterbox"`.

    Returns:
        A boolean mask of shape ``size``.

    Example:
        >>> m = np.zeros((8, 4), bool); m[:, :] = True
        >>> fit_mask(m, 4).astype(int).tolist()
        [[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]]
    """
    plane = np.asarray(mask, dtype=np.float32)
    if plane.ndim != 2:
        raise DatasetError(f"Argument `mask` must be 2-D. Received: mask.shape={plane.shape}")
    return resize_image(plane, size, mode) >= 0.5


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(
            f"Cannot read COCO annotations ({err}). Received: path={path!r}"
        ) from err


def read_coco(path: str | os.PathLike[str]) -> dict[str, ImageAnnotation]:
    """Reads a COCO annotation file: boxes and polygon outlines per image.

    Args:
        path: A COCO ``.json`` with ``images`` and ``annotations`` (``bbox`` and optional
            polygon ``segmentation``; run-length masks are not read and the box is used).

    Returns:
        ``{file_name: ImageAnnotation}`` for every listed image (file names without
        folders), images without regions included with none.

    Raises:
        DatasetError: For an unreadable file, a missing key or an annotation on an unknown
            image.

    Example:
        >>> import json, tempfile
        >>> f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        >>> json.dump({"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6}],
        ...            "annotations": [{"image_id": 1, "bbox": [1, 2, 3, 2],
        ...                             "segmentation": [[1, 2, 4, 2, 4, 4]]}]}, f); f.close()
        >>> read_coco(f.name)["a.jpg"].boxes
        ((1.0, 2.0, 3.0, 2.0),)
    """
    path = os.fspath(path)
    data = _read_json(path)
    try:
        images = {
            im["id"]: (os.path.basename(im["file_name"]), int(im["height"]), int(im["width"]))
            for im in data["images"]
        }
        regions: dict[int, list] = {key: [] for key in images}
        for ann in data.get("annotations", []):
            seg = ann.get("segmentation")
            polys = tuple(tuple(float(v) for v in p) for p in seg) if isinstance(seg, list) else ()
            regions[ann["image_id"]].append((tuple(float(v) for v in ann["bbox"]), polys))
    except (KeyError, TypeError, ValueError) as err:
        raise DatasetError(
            f"COCO file lacks or garbles a required field ({err!r}); each image needs id, "
            f"file_name, width, height and each annotation image_id and bbox. Received: path={path!r}"
        ) from err
    return {
        name: ImageAnnotation(
            name, h, w, tuple(b for b, _ in regions[key]), tuple(p for _, p in regions[key])
        )
        for key, (name, h, w) in images.items()
    }


def read_yolo(
    folder: str | os.PathLike[str], sizes: Mapping[str, tuple[int, int]]
) -> dict[str, ImageAnnotation]:
    """Reads YOLO box files (``class cx cy w h``, normalised) for images of known size.

    Args:
        folder: Folder of ``<image stem>.txt`` files.
        sizes: ``{file_name: (height, width)}`` of the images to read (YOLO coordinates
            are fractions of the image size, so the size must come from the image).

    Returns:
        ``{file_name: ImageAnnotation}`` (boxes only) for each image with a ``.txt`` file.

    Raises:
        DatasetError: For a line that is not five numbers.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("0 0.5 0.5 0.5 0.25")
        >>> read_yolo(d, {"a.jpg": (8, 8)})["a.jpg"].boxes
        ((2.0, 3.0, 4.0, 2.0),)
    """
    out = {}
    for name, (h, w) in sizes.items():
        file = os.path.join(os.fspath(folder), os.path.splitext(name)[0] + ".txt")
        if not os.path.exists(file):
            continue
        boxes = []
        with open(file, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    _, cx, cy, bw, bh = (float(v) for v in line.split())
                except ValueError as err:
                    raise DatasetError(
                        f"YOLO line {number} must be 'class cx cy w h'. Received: {file}: {line!r}"
                    ) from err
                boxes.append(((cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h))
        out[name] = ImageAnnotation(name, int(h), int(w), tuple(boxes))
    return out


def annotations_for(
    paths: Iterable[str], annotations: Mapping[str, ImageAnnotation]
) -> list[ImageAnnotation | None]:
    """The annotation of each image path, matched by file name (`None` when absent).

    Args:
        paths: Image paths, e.g. a :class:`~fracturenet.data.Manifest`'s ``paths``.
        annotations: As returned by :func:`read_coco` or :func:`read_yolo`.

    Returns:
        One entry per path, aligned with ``paths``.

    Example:
        >>> annotations_for(["/d/a.jpg", "/d/b.jpg"], {"a.jpg": ImageAnnotation("a.jpg", 2, 2)})
        [ImageAnnotation(file_name='a.jpg', height=2, width=2, boxes=(), polygons=()), None]
    """
    return [annotations.get(os.path.basename(str(p))) for p in paths]
