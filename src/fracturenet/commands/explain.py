"""``fracturenet explain``: heatmaps (Grad-CAM and family) for images, into a folder."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from fracturenet.commands._common import print_json, progress
from fracturenet.commands._registry import UsageError, command


@command(
    "explain",
    "Explain a model's predictions: one overlay PNG per image plus an index.html page.",
    "fracturenet explain runs/r50 xrays/ --method gradcam++ --out explanations/",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("model", help="run folder or .keras file")
    p.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files or folders")
    p.add_argument(
        "--method",
        default="gradcam",
        help="one of gradcam, gradcam++, scorecam, faster-scorecam, layercam, saliency, "
        "smoothgrad; see fracturenet.explain.METHODS",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--target", default="predicted", help="'predicted', a class index or a class name"
    )
    p.add_argument("--alpha", type=float, default=0.4, help="heatmap weight in the overlay")
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="unreadable images: stop (raise) or leave them out and list them (skip)",
    )
    p.add_argument(
        "--annotations",
        metavar="COCO_JSON_OR_YOLO_DIR",
        help="expert outlines (COCO .json with boxes/polygons, or a folder of YOLO .txt): "
        "drawn on the overlays, and every method is scored against them "
        "(localisation.json + localisation.html)",
    )
    p.add_argument(
        "--methods",
        default="fast",
        help="with --annotations: comma-separated methods to compare, 'fast' (every method "
        "but the full scorecam) or 'all'",
    )
    p.add_argument(
        "--tolerance", type=float, default=None,
        help="pointing-game tolerance, model-input px (default: 15 at 224 px, in proportion "
        "for other input sizes)",
    )
    p.add_argument(
        "--top-k", type=float, default=0.05, help="fraction of hottest pixels for IoU/Dice"
    )
    p.add_argument(
        "--shape",
        choices=("outline", "box"),
        default="outline",
        help="score against the polygons (outline) or the boxes",
    )
    p.add_argument(
        "--steps", type=int, default=16, help="deletion/insertion steps per map (0: skip)"
    )
    p.add_argument("--overwrite", action="store_true", help="replace files this command wrote")
    p.add_argument("--json", action="store_true", help="print the written files as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def run(args: argparse.Namespace) -> int:
    from fracturenet.data.bad_images import readable_files
    from fracturenet.explain import METHODS, explain_to_folder
    from fracturenet.inference import iter_image_files
    from fracturenet.inference.sources import run_model_path
    from fracturenet.models import input_spec, load_model, read_metadata

    if args.method not in METHODS:
        raise UsageError(
            f"--method must be one of {sorted(METHODS)}. Received: method={args.method!r}"
        )
    if not 0 <= args.alpha <= 1:
        raise UsageError(f"--alpha must be in [0, 1]. Received: alpha={args.alpha}")
    path = run_model_path(args.model)
    meta = read_metadata(path)
    files = list(iter_image_files(args.images))
    if not files:
        raise UsageError(f"No image files found in {args.images}. Received: images={args.images}")
    skipped = []
    if args.on_error == "skip":
        files, skipped = readable_files(files)
        for file, reason in skipped:
            progress(f"skipped unreadable image {file!r}: {reason}", quiet=False)
        if not files:
            raise UsageError(f"No readable image in {args.images}. Received: on_error='skip'")
    target = int(args.target) if args.target.isdigit() else args.target
    annotations = _annotations(args, files) if args.annotations else None
    methods = _methods(args.methods) if annotations is not None else None
    progress(f"explaining {len(files)} images with {args.method}", quiet=args.quiet or args.json)
    model = load_model(path)
    resize_mode = input_spec(model).resize_mode  # images are fitted as the model trained
    outlines = None
    if annotations is not None:
        from fracturenet.data import load_image
        from fracturenet.explain import outline_masks

        arrays = [load_image(f) for f in files]
        outlines = outline_masks(arrays, files, annotations, shape=args.shape)
    index = explain_to_folder(
        model,
        files,
        args.out,
        method=args.method,
        class_names=meta.get("class_names") or None,
        alpha=args.alpha,
        overwrite=args.overwrite,
        target=target,
        resize_mode=resize_mode,
        outlines=outlines,
    )
    report = None
    if annotations is not None:
        from fracturenet.explain import localisation_report

        progress(
            f"scoring {len(methods)} methods and 3 baselines against the outlines",
            quiet=args.quiet or args.json,
        )
        report = localisation_report(
            model,
            arrays,
            annotations,
            args.out,
            methods=methods,
            names=[str(f) for f in files],
            shape=args.shape,
            overwrite=args.overwrite,
            target=target,
            class_names=meta.get("class_names") or None,
            resize_mode=resize_mode,
            tolerance=args.tolerance,
            top_k=args.top_k,
            faithfulness_steps=args.steps,
        )
    written = sorted(str(p) for p in index.parent.iterdir() if p.suffix in (".png", ".html"))
    if args.json:
        print_json(
            {
                "index": str(index),
                "method": args.method,
                "resize_mode": resize_mode,
                "images": len(files),
                "files": written,
                "skipped": [{"path": str(f), "reason": r} for f, r in skipped],
                "localisation": None if report is None else str(report),
                "localisation_json": None if report is None else str(report.with_suffix(".json")),
            }
        )
    else:
        print(f"{len(files)} explanations ({args.method}): {index}")
        if report is not None:
            print(f"localisation against the outlines: {report}")
    return 0


def _annotations(args: argparse.Namespace, files: list) -> dict:
    """Reads --annotations (COCO .json or a YOLO folder), as a usage error when unreadable."""
    import os

    from fracturenet.data import load_image, read_coco, read_yolo
    from fracturenet.exceptions import DatasetError

    source = args.annotations
    try:
        if os.path.isdir(source):
            sizes = {os.path.basename(str(f)): load_image(f).shape[:2] for f in files}
            return read_yolo(source, sizes)
        if os.path.isfile(source):
            return read_coco(source)
    except DatasetError as err:
        raise UsageError(f"--annotations: {err}") from err
    raise UsageError(
        "--annotations must be a COCO .json file or a folder of YOLO .txt files. "
        f"Received: annotations={source!r}"
    )


def _methods(text: str) -> list[str]:
    from fracturenet.explain import DEFAULT_METHODS, METHODS

    if text == "fast":
        return list(DEFAULT_METHODS)
    if text == "all":
        return list(METHODS)
    chosen = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in METHODS]
    if unknown or not chosen:
        raise UsageError(
            f"--methods must be 'fast', 'all' or a comma-separated list of {sorted(METHODS)}."
            f" Received: methods={text!r}"
        )
    return chosen
