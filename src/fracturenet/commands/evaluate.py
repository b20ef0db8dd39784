"""``fracturenet evaluate``: metrics with 95 % bootstrap intervals for a model on a dataset."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from typing import Any

from fracturenet.commands._common import check_positive, file_link, print_json, progress
from fracturenet.commands._registry import UsageError, command


@command(
    "evaluate",
    "Evaluate a trained model (run folder or .keras) on a dataset: metrics, CIs, reports.",
    "fracturenet evaluate runs/r50 data/test-folder --out r50.json --html r50.html",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("model", help="run folder or .keras file")
    p.add_argument("data", help="dataset folder or CSV manifest")
    p.add_argument(
        "--split",
        default="auto",
        help="which images: a split name (test, val, train), 'all', or 'auto' "
        "(the test split when the layout has one, else all)",
    )
    p.add_argument("--tta", action="store_true", help="average with the horizontal flip")
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="unreadable images: stop (raise) or leave them out and list them (skip)",
    )
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples for the 95%% CIs")
    p.add_argument("--batch-size", type=int, default=32, help="images per step")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    p.add_argument(
        "--threshold",
        default="model",
        metavar="model|argmax|P",
        help="two-class models: the operating point: the threshold saved with the model "
        "(chosen on its validation split; argmax when it has none), argmax, or a cut-off P "
        "on --positive-class's probability (default: model)",
    )
    p.add_argument(
        "--positive-class",
        metavar="NAME",
        help="two-class models: the class sensitivity is about (default: the threshold's, "
        "else the minority class)",
    )
    p.add_argument(
        "--metadata",
        metavar="CSV",
        help="per-image attributes (one row per image, the first column its file name) for --facet",
    )
    p.add_argument(
        "--facet",
        action="append",
        default=[],
        metavar="COLUMN|NAME=COL1,COL2",
        help="report accuracy (two-class: sensitivity, specificity) per value of a --metadata "
        "column, with 95%% Wilson intervals; NAME=COL1,COL2,... combines 0/1 flag columns "
        "(e.g. region=hand,leg,hip,shoulder). Repeatable",
    )

    p.add_argument("--out", metavar="REPORT.json", help="save the report (for `compare`)")
    p.add_argument("--html", metavar="OUT.html", help="save a self-contained HTML report")
    p.add_argument("--overwrite", action="store_true", help="replace existing --out/--html")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def select_split(manifest: Any, split: str) -> Any:
    """Returns the images ``--split`` names (``auto``: test if present, else all)."""
    names = manifest.split_names()
    if split == "all" or (split == "auto" and "test" not in names):
        return manifest
    split = "test" if split == "auto" else split
    if split not in names:
        raise UsageError(
            f"--split must be 'auto', 'all' or one of the dataset's splits "
            f"{names}. Received: split={split!r}"
        )
    return manifest.subset(split)


def relabel(manifest: Any, class_names: list[str]) -> Any:
    """Maps the dataset's labels onto the model's class order (by class name)."""
    from fracturenet.data import Manifest

    missing = sorted(set(manifest.class_names) - set(class_names))
    if missing:
        raise UsageError(
            f"The data has classes the model does not know: {missing}. Model "
            f"classes: {class_names}. Received: data classes "
            f"{list(manifest.class_names)}"
        )
    index = {c: i for i, c in enumerate(class_names)}
    labels = [index[manifest.class_names[y]] for y in manifest.labels]
    return Manifest(
        paths=manifest.paths,
        labels=labels,
        class_names=tuple(class_names),
        splits=manifest.splits,
        groups=manifest.groups,
        root=manifest.root,
    )


def _split_name(manifest: Any, split: str) -> str:
    """The name the report records for ``--split`` (``auto`` resolved)."""
    if split == "auto":
        return "test" if "test" in manifest.split_names() else "all"
    return split


def _threshold(value: str, positive_class: str | None) -> Any:
    """``--threshold`` as ``evaluate(threshold=...)`` takes it."""
    if value in ("model", "argmax"):
        return value
    try:
        cut = float(value)
    except ValueError:
        cut = float("nan")
    if not 0.0 <= cut <= 1.0:
        raise UsageError(
            "--threshold must be 'model', 'argmax' or a probability in [0, 1]. "
            f"Received: threshold={value!r}"
        )
    if positive_class is None:
        raise UsageError(
            "--threshold P cuts one class's probability: name it with --positive-class. "
            f"Received: threshold={value!r}, positive_class=None"
        )
    return cut


def _facets(metadata: str | None, specs: list[str]) -> Any:
    """``--metadata``/``--facet`` as ``evaluate(facets=...)`` takes them."""
    from fracturenet.evaluation.facets import facets_from_csv

    if not specs:
        return None
    if metadata is None:
        raise UsageError(
            "--facet reads per-image attributes from a CSV: pass it with --metadata. "
            f"Received: facet={specs}, metadata=None"
        )
    try:
        return facets_from_csv(metadata, specs)
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(f"--metadata/--facet: {err}") from None


def run(args: argparse.Namespace) -> int:
    from fracturenet.data import discover, make_dataset, skipped_files
    from fracturenet.data.bad_images import kept_paths
    from fracturenet.evaluation import evaluate
    from fracturenet.evaluation.provenance import leakage_warning
    from fracturenet.inference.sources import run_model_path
    from fracturenet.models import input_spec, load_model, read_metadata

    check_positive("batch_size", args.batch_size)
    check_positive("bootstrap", args.bootstrap, allow_zero=True)
    threshold = _threshold(args.threshold, args.positive_class)
    facets = _facets(args.metadata, args.facet)
    path = run_model_path(args.model)
    meta = read_metadata(path)
    found = discover(args.data)
    manifest = select_split(found, args.split)
    split = _split_name(found, args.split)
    class_names = list(meta.get("class_names") or manifest.class_names)
    manifest = relabel(manifest, class_names)
    quiet = args.quiet or args.json
    progress(f"evaluating {path} on {len(manifest)} images", quiet=quiet)
    model = load_model(path)
    spec = input_spec(model)  # size, channels and the resize mode the model trained with
    ds = make_dataset(
        manifest,
        image_size=spec.size,
        batch_size=args.batch_size,
        channels=spec.channels,
        resize_mode=spec.resize_mode,
        on_error=args.on_error,
    )
    with warnings.catch_warnings():  # printed below, once, as a progress line
        warnings.filterwarnings("ignore", message="Warning: leakage")
        report = evaluate(
            model,
            ds,
            class_names=class_names,
            ids=kept_paths(ds),
            tta=args.tta,
            bootstrap=args.bootstrap,
            seed=args.seed,
            model_name=meta.get("backbone") or model.name,
            split=split,
            info={"resize_mode": spec.resize_mode},
            threshold=threshold,
            positive_class=args.positive_class,
            facets=facets,
        )
    for file, reason in skipped_files(ds):
        progress(f"skipped unreadable image {file!r}: {reason}", quiet=False)
    leak = leakage_warning(report.info, len(report.y_true))
    if leak:  # also in every table, verdict and file of the report
        progress(leak, quiet=False)
    if args.out:
        report.to_json(args.out, overwrite=args.overwrite)
    if args.html:
        report.to_html(args.html, overwrite=args.overwrite)
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.to_markdown())
        for label, file in (("report", args.out), ("html", args.html)):
            if file:
                print(f"{label}: {file_link(file)}")
    return 0
