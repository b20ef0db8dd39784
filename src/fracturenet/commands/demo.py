"""``fracturenet demo``: the end-to-end run on the embedded synthetic phantoms."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from fracturenet.commands._common import file_link
from fracturenet.commands._registry import command
from fracturenet.commands.train_config import PRECISION_HELP
from fracturenet.hardware import PRECISIONS


@command(
    "demo",
    "Train, evaluate, explain and compare two backbones on synthetic phantoms (offline): "
    "VGG16 and ResNet50 when their ImageNet weights are cached, else SmallCNN and "
    "SmallCNN-tiny from scratch.",
    "fracturenet demo --quick --out runs/demo1",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("--quick", action="store_true", help="smaller budget: under 2 minutes on 2 CPUs")
    p.add_argument(
        "--out", default=None, help="new output folder (default: fracturenet-runs/demo-<time>)"
    )
    p.add_argument(
        "--cache-dir", default=None, help="phantom cache (default: ~/.cache/fracturenet)"
    )
    p.add_argument(
        "--backbones",
        default=None,
        help="comma-separated backbone names (default: vgg16,resnet50 when their ImageNet "
        "weights are cached, else smallcnn,smallcnn_tiny)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for phantoms, splits and weights")
    p.add_argument("--precision", default="auto", choices=PRECISIONS, help=PRECISION_HELP)
    p.add_argument(
        "--offline", action="store_true",
        help="never download ImageNet weights; use what the Keras cache holds "
        "(FRACTURENET_OFFLINE=1 does the same)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def run(args: argparse.Namespace) -> int:
    from fracturenet.workflows import run_demo

    result = run_demo(
        args.out,
        quick=args.quick,
        backbones=(
            tuple(b.strip() for b in args.backbones.split(",") if b.strip())
            if args.backbones
            else None
        ),
        cache_dir=args.cache_dir,
        seed=args.seed,
        precision=args.precision,
        download_weights=not args.offline,
        verbose=0 if (args.quiet or args.json) else 1,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "out_dir": str(Path(result.out_dir).resolve()),
                    "report_html": str(Path(result.report_html).resolve()),
                    "metrics": result.metrics,
                    "comparison": result.comparison,
                    "weights": result.weights,
                    "imagenet_files": result.imagenet_files,
                    "seconds": result.seconds,
                },
                indent=2,
            )
        )
    else:
        for name, m in result.metrics.items():
            print(
                f"{name:>10}: accuracy {m['accuracy']:.3f}  balanced {m['balanced_accuracy']:.3f}"
                f"  macro-F1 {m['macro_f1']:.3f}  (weights: {result.weights[name]})"
            )
        print(f"verdict: {result.comparison.get('verdict', '')}")
        print(f"report: {file_link(result.report_html)}")
    return 0
