"""``fracturenet compare``: paired comparison of models evaluated on the same images."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from fracturenet.commands._common import file_link, print_json
from fracturenet.commands._registry import UsageError, command


@command(
    "compare",
    "Compare models evaluated on the same images: McNemar, paired bootstrap CIs, verdict.",
    "fracturenet compare runs/vgg16 runs/resnet50 --html comparison.html",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument(
        "reports",
        nargs="+",
        metavar="RUN_OR_REPORT",
        help="run folders (their metrics.json) or report JSON files, two or more",
    )
    p.add_argument("--names", help="comma-separated names, one per report")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--n-boot", type=int, default=2000, help="paired-bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling")
    p.add_argument(
        "--allow-selection-split",
        action="store_true",
        help="compare reports computed on the split that picked the epoch (the verdict says so)",
    )
    p.add_argument(
        "--allow-training-overlap",
        action="store_true",
        help="compare reports whose images include the model's training images (the verdict "
        "says so)",
    )
    p.add_argument("--html", metavar="OUT.html", help="write a side-by-side HTML page")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --html file")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def report_path(item: str) -> str:
    """Returns the report JSON of a run folder (``metrics.json``) or the file itself."""
    p = Path(item)
    if p.is_dir():
        p = p / "metrics.json"
    if not p.is_file():
        raise UsageError(
            f"{item!r} is neither a report JSON file nor a run folder with "
            f"metrics.json (`fracturenet evaluate --out` writes one). "
            f"Received: report={item!r}"
        )
    return str(p)


def run(args: argparse.Namespace) -> int:
    from fracturenet.evaluation import compare

    if len(args.reports) < 2:
        raise UsageError(f"compare needs two or more reports. Received: {args.reports}")
    names = [n.strip() for n in args.names.split(",")] if args.names else None
    if names is None:  # run folders are named after the folder, not the backbone
        stems = [Path(r).name if Path(r).is_dir() else None for r in args.reports]
        if all(stems) and len(set(stems)) == len(stems):
            names = stems
    result = compare(
        *[report_path(r) for r in args.reports],
        names=names,
        alpha=args.alpha,
        n_boot=args.n_boot,
        seed=args.seed,
        allow_selection_split=args.allow_selection_split,
        allow_training_overlap=args.allow_training_overlap,
    )
    if args.html:
        result.to_html(args.html, overwrite=args.overwrite)
    if args.json:
        print_json(result.to_dict())
    else:
        print(result.to_markdown())
        if args.html:
            print(f"html: {file_link(args.html)}")
    return 0
