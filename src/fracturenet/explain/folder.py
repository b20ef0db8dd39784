"""Batch mode: explain many images into a folder of PNGs plus an ``index.html`` page."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.data.decode import load_image
from fracturenet.exceptions import ExplainError
from fracturenet.explain.overlay import class_name, true_label_text

__all__ = ["explain_to_folder"]


def _unique_stems(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    stems = []
    for name in names:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(name)).stem).strip("_") or "image"
        count = seen.get(stem, 0)
        seen[stem] = count + 1
        stems.append(stem if count == 0 else f"{stem}_{count}")
    return stems


def explain_to_folder(
    model: Any,
    images: Sequence[Any],
    out_dir: str | Path,
    *,
    method: str = "gradcam",
    names: Sequence[str] | None = None,
    true_labels: Sequence[Any] | None = None,
    class_names: Sequence[str] | None = None,
    alpha: float = 0.4,
    cmap: str = "jet",
    overwrite: bool = False,
    outlines: Sequence[Any] | None = None,
    **explain_kwargs: Any,
) -> Path:
    """Explains images and writes one PNG per image plus an ``index.html`` linking them.

    Args:
        model: The classifier (raw 0-255 pixels in).
        images: Image files (paths) or ``(H, W[, C])`` arrays.
        out_dir: Folder to write into; created if missing.
        method: Explanation method (see ``METHODS``). Defaults to `"gradcam"`.
        names: One name per image for the files and the page. Defaults to `None`: the
            file names of path inputs, else ``image_0000``, ``image_0001``, ...
        true_labels: True class index or name per image, shown when given. Defaults to
            `None`.
        class_names: Class names in model output order. Defaults to `None`.
        alpha: Heatmap weight in the overlays. Defaults to `0.4`.
        cmap: Matplotlib colormap. Defaults to `"jet"`.
        overwrite: Whether files this function writes may replace existing ones; other
            files in ``out_dir`` are never touched. Defaults to `False`.
        outlines: One boolean ``(H, W)`` expert-outline mask (or `None`) per image, drawn
            on its overlay in a colour the colormap does not use. Defaults to `None`.
        **explain_kwargs: Passed to :func:`~fracturenet.explain.explain`.

    Returns:
        The path of ``index.html``.

    Raises:
        FileExistsError: When an output file exists and ``overwrite`` is False.
        ImageDecodeError: When an image file cannot be read.
        ExplainError: For mismatched ``names``/``true_labels`` or bad explain arguments.

    Example:
        >>> import keras, numpy as np, tempfile
        >>> x = keras.Input((8, 8, 3))
        >>> f = keras.layers.Conv2D(2, 3, padding="same")(x)
        >>> p = keras.layers.GlobalAveragePooling2D()(f)
        >>> model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(p))
        >>> index = explain_to_folder(model, [np.zeros((8, 12))], tempfile.mkdtemp())
        >>> sorted(f.name for f in index.parent.iterdir())
        ['image_0000_gradcam.png', 'index.html']
    """
    from fracturenet.explain.cam import explain
    from fracturenet.explain.overlay import save_explanation_grid

    items = list(images)
    if names is None:
        names = [
            Path(item).name if isinstance(item, (str, Path)) else f"image_{i:04d}"
            for i, item in enumerate(items)
        ]
    if outlines is not None and len(outlines) != len(items):
        raise ExplainError(
            f"Argument `outlines` must have one mask (or None) per image ({len(items)}). "
            f"Received: {len(outlines)} outlines"
        )
    if len(names) != len(items) or (true_labels is not None and len(true_labels) != len(items)):
        raise ExplainError(
            "Arguments `names` and `true_labels` must have one entry per image "
            f"({len(items)}). Received: {len(names)} names, "
            f"{None if true_labels is None else len(true_labels)} true labels"
        )
    out_dir = Path(out_dir)
    files = [out_dir / f"{stem}_{method}.png" for stem in _unique_stems(names)]
    index = out_dir / "index.html"
    clashes = [str(p) for p in [*files, index] if p.exists()]
    if clashes and not overwrite:
        raise FileExistsError(
            f"{len(clashes)} output file(s) already exist, e.g. {clashes[0]!r}; choose another "
            f"folder or pass overwrite=True. Received: out_dir={str(out_dir)!r}"
        )
    arrays = [load_image(i) if isinstance(i, (str, Path)) else np.asarray(i) for i in items]
    result = explain(model, arrays, method=method, class_names=class_names, **explain_kwargs)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (array, path) in enumerate(zip(arrays, files, strict=True)):
        true = None if true_labels is None else [true_labels[i]]
        save_explanation_grid(
            [array],
            [result[i]],
            path,
            true_labels=true,
            class_names=class_names,
            alpha=alpha,
            cmap=cmap,
            overwrite=True,
            outlines=None if outlines is None else [outlines[i]],
        )
        rows.append(_html_row(names[i], path.name, result[i], true, class_names))
    index.write_text(_html_page(method, rows), encoding="utf-8")
    return index


def _html_row(name: str, file: str, explanation: Any, true: Any, class_names: Any) -> str:
    pred = class_name(explanation.predicted_index, explanation.predicted_label, class_names)
    true_text = "" if true is None else true_label_text(true[0], class_names)
    cells = [
        f'<a href="{html.escape(file)}"><img src="{html.escape(file)}" width="240"></a>',
        html.escape(str(name)),
        html.escape(pred),
        f"{explanation.probability:.3f}",
        html.escape(str(true_text)),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _html_page(method: str, rows: list[str]) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("explanation", "image", "predicted", "probability", "true")
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>fracturenet explanations ({html.escape(method)})</title></head><body>\n"
        f"<h1>fracturenet explanations: {html.escape(method)}</h1>\n"
        f'<table border="1" cellpadding="4"><tr>{head}</tr>\n'
        + "\n".join(rows)
        + "\n</table></body></html>\n"
    )
