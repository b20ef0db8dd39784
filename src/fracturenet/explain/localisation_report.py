"""``localisation_report``: the method table against expert outlines, as JSON and HTML.

The HTML page shows the ranking with its bootstrap intervals, the best method's paired
difference against each baseline, and a gallery of the best and the worst localised images
(heatmap, expert outline drawn in a colour the colormap does not use, the per-image scores),
so a reader sees the failures as well as the successes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fracturenet.data.annotations import ImageAnnotation, annotation_mask
from fracturenet.data.decode import load_image
from fracturenet.exceptions import ExplainError

__all__ = ["localisation_report", "outline_masks"]


def outline_masks(
    images: Sequence[np.ndarray],
    names: Sequence[str],
    annotations: Mapping[str, ImageAnnotation],
    *,
    shape: str = "outline",
) -> list[np.ndarray | None]:
    """Each image's outline mask (matched by file name), `None` where it has no region.

    Args:
        images: The loaded images.
        names: Their file names (folders are ignored).
        annotations: From :func:`~fracturenet.data.read_coco` or
            :func:`~fracturenet.data.read_yolo`.
        shape: ``"outline"`` or ``"box"``. Defaults to `"outline"`.

    Returns:
        One boolean mask or `None` per image.

    Raises:
        ExplainError: When an annotation's size differs from its image's (the message
            names the file).

    Example:
        >>> a = {"x.png": ImageAnnotation("x.png", 2, 3, boxes=((0, 0, 1, 1),))}
        >>> [m if m is None else m.sum() for m in outline_masks([np.zeros((2, 3))] * 2,
        ...                                                     ["d/x.png", "y.png"], a)]
        [np.int64(1), None]
    """
    out: list[np.ndarray | None] = []
    for image, name in zip(images, names, strict=True):
        ann = annotations.get(Path(str(name)).name)
        if ann is None or not len(ann):
            out.append(None)
            continue
        if (ann.height, ann.width) != tuple(np.shape(image)[:2]):
            raise ExplainError(
                f"The annotation of {name!r} is for a {ann.height}x{ann.width} image but the "
                f"image loads as {np.shape(image)[0]}x{np.shape(image)[1]}; outlines must be "
                f"in the pixels of the image as loaded. Received: name={str(name)!r}"
            )
        out.append(annotation_mask(ann, shape=shape))
    return out


def localisation_report(
    model: Any,
    images: Sequence[Any],
    annotations: Mapping[str, ImageAnnotation],
    out_dir: str | Path,
    *,
    methods: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    shape: str = "outline",
    gallery: int = 4,
    cmap: str = "jet",
    alpha: float = 0.4,
    overwrite: bool = False,
    **compare_kwargs: Any,
) -> Path:
    """Compares methods against expert outlines; writes ``localisation.json`` and ``.html``.

    Args:
        model: The classifier (raw 0-255 pixels in).
        images: Image files or ``(H, W[, C])`` arrays; those without an outline in
            ``annotations`` are listed as such and not scored.
        annotations: ``{file_name: ImageAnnotation}`` (see :func:`~fracturenet.data.read_coco`).
        out_dir: Folder to write into; created if missing.
        methods: Methods to compare. Defaults to `None`: every method.
        names: One file name per image. Defaults to `None`: the paths' file names.
        shape: ``"outline"`` (polygons) or ``"box"``. Defaults to `"outline"`.
        gallery: Number of best and of worst localised images shown. Defaults to `4`.
        cmap: Heatmap colormap of the gallery. Defaults to `"jet"`.
        alpha: Heatmap weight in the gallery overlays. Defaults to `0.4`.
        overwrite: Whether files this function writes may replace existing ones.
            Defaults to `False`.
        **compare_kwargs: Passed to :func:`~fracturenet.explain.compare_localisation`
            (``target``, ``class_names``, ``tolerance``, ``top_k``, ...).

    Returns:
        The path of ``localisation.html``.

    Raises:
        ExplainError: When no image has an outline, or for bad comparison arguments.
        FileExistsError: When an output file exists and ``overwrite`` is False.
    """
    from fracturenet.explain.cam import explain
    from fracturenet.explain.localisation_compare import compare_localisation
    from fracturenet.explain.overlay import save_explanation_grid

    items = list(images)
    if names is None:
        names = [
            Path(i).name if isinstance(i, (str, Path)) else f"image_{k:04d}"
            for k, i in enumerate(items)
        ]
    out_dir = Path(out_dir)
    page, table = out_dir / "localisation.html", out_dir / "localisation.json"
    clashes = [str(p) for p in (page, table) if p.exists()]
    if clashes and not overwrite:
        raise FileExistsError(
            f"{clashes[0]!r} already exists; choose another folder or pass overwrite=True. "
            f"Received: out_dir={str(out_dir)!r}"
        )
    arrays = [load_image(i) if isinstance(i, (str, Path)) else np.asarray(i) for i in items]
    masks = outline_masks(arrays, names, annotations, shape=shape)
    scored = [k for k, m in enumerate(masks) if m is not None]
    if not scored:
        raise ExplainError(
            f"None of the {len(items)} images has an outline in the annotations (matched by "
            f"file name). Received: names={list(names)[:3]}..."
        )
    c = compare_localisation(
        model,
        [arrays[k] for k in scored],
        [masks[k] for k in scored],
        methods=methods,
        names=[names[k] for k in scored],
        **compare_kwargs,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    order = [int(i) for i in c.ranked_images()]
    n_best = min(gallery, max(1, len(order) // 2))  # few images: split them, best and worst
    best_ones = order[:n_best]
    worst_ones = order[n_best:][::-1][:gallery][::-1]  # the worst last
    picks = best_ones + worst_ones
    position = {n: k for k, n in zip(scored, [names[k] for k in scored], strict=True)}
    chosen = [position[c.names[i]] for i in picks]
    keep = {
        key: compare_kwargs[key]
        for key in ("target", "class_names", "resize_mode")
        if key in compare_kwargs
    }
    if "target" in keep and not isinstance(keep["target"], (str, int, np.integer)):
        keep["target"] = [keep["target"][k] for k in chosen]
    ex = explain(model, [arrays[k] for k in chosen], method=c.best, **keep)
    figures = []
    for j, (i, k) in enumerate(zip(picks, chosen, strict=True)):
        file = out_dir / f"localisation_{j:02d}_{c.best}.png"
        save_explanation_grid(
            [arrays[k]], [ex[j]], file, alpha=alpha, cmap=cmap, overwrite=True, outlines=[masks[k]]
        )
        figures.append((i, file.name, "best" if i in best_ones else "worst"))
    data = c.to_dict()
    data["not_outlined"] = [names[k] for k, m in enumerate(masks) if m is None]
    data["shape"] = shape
    table.write_text(json.dumps(data, indent=1), encoding="utf-8")
    page.write_text(_page(c, figures, data["not_outlined"]), encoding="utf-8")
    return page


def _fmt(triple: Any) -> str:
    mean, low, high = triple
    return "n/a" if not np.isfinite(mean) else f"{mean:.3f} <small>[{low:.3f}, {high:.3f}]</small>"


def _page(c: Any, figures: list[tuple[int, str, str]], not_outlined: list[str]) -> str:
    st = c.settings
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "rank",
            "method",
            "pointing game",
            "energy share",
            f"IoU top {st['top_k']:.0%}",
            f"Dice top {st['top_k']:.0%}",
            "deletion AUC ↓",
            "insertion AUC ↑",
            "seconds",
        )
    )
    rows = []
    for rank, r in enumerate(c.rows, start=1):
        faith = [f"{v:.3f}" if v is not None else "–" for v in (r.deletion_auc, r.insertion_auc)]
        cls = ' class="baseline"' if r.baseline else ""
        name = html.escape(r.method) + (" <em>(baseline)</em>" if r.baseline else "")
        cells = [
            str(rank),
            name,
            *(_fmt(getattr(r, m)) for m in ("pointing", "energy", "iou", "dice")),
        ]
        cells += [*faith, f"{r.seconds:.1f}"]
        rows.append(f"<tr{cls}>" + "".join(f"<td>{x}</td>" for x in cells) + "</tr>")
    diffs = "".join(
        f"<li>{html.escape(c.best)} − {html.escape(b)}: pointing {_fmt(d['pointing'])}, "
        f"energy {_fmt(d['energy'])}</li>"
        for b, d in c.best_vs_baselines.items()
    )
    verdict = (
        "beats every baseline on the pointing game (95 % interval of each difference above 0)"
        if c.beats_all_baselines("pointing")
        else "does <strong>not</strong> beat every baseline on the pointing game with an "
        "interval excluding 0"
    )
    s = c.scores[c.best]
    cards = []
    for i, file, label in figures:
        energy = "n/a" if not np.isfinite(s.energy[i]) else f"{s.energy[i]:.2f}"
        cards.append(
            f'<figure class="{label}"><img src="{html.escape(file)}" width="420">'
            f"<figcaption><b>{label}</b> · {html.escape(Path(c.names[i]).name)} · pointing "
            f"{s.pointing[i]:.2f} · energy {energy} · IoU {s.iou[i]:.2f}</figcaption></figure>"
        )
    missing = (
        f"<p>{len(not_outlined)} image(s) without an outline were not scored.</p>"
        if not_outlined
        else ""
    )
    excluded = (
        f"<p>{len(c.excluded)} outlined image(s) left out: the outline falls outside the "
        f"model input ({html.escape(', '.join(c.excluded[:10]))}).</p>"
        if c.excluded
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        "<title>fracturenet: where the model looks</title><style>"
        "body{font-family:sans-serif;margin:1.5em;max-width:1300px}"
        "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px;"
        "text-align:right}td:nth-child(2){text-align:left}tr.baseline{background:#f1f1f1}"
        "figure{display:inline-block;margin:6px;vertical-align:top}"
        "figure.worst figcaption{color:#a00}figure.best figcaption{color:#060}</style>"
        "</head><body>\n<h1>Where the model looks, against expert outlines</h1>\n"
        f"<p>{len(c.names)} images; model input {st['input_size'][0]}×{st['input_size'][1]} "
        f"({html.escape(st['resize_mode'])}); pointing-game tolerance {st['tolerance']:g} px "
        f"of the model input; IoU/Dice of the hottest {st['top_k']:.0%} of input pixels; "
        f"mean [95 % bootstrap interval, {st['n_boot']} resamples]; deletion/insertion with "
        f"{st['faithfulness_steps']} steps. Baselines (grey rows) are scored on the same "
        "images: a centred Gaussian, a seeded random map, and bone brightness.</p>\n"
        f"{missing}{excluded}"
        f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>\n"
        f"<h2>Best method: {html.escape(c.best)}</h2><p>It {verdict}.</p><ul>{diffs}</ul>\n"
        f"<h2>Best and worst localised images ({html.escape(c.best)})</h2>\n"
        "<p>Outlines are drawn in a colour the heatmap colormap does not use.</p>\n"
        + "\n".join(cards)
        + "\n</body></html>\n"
    )
