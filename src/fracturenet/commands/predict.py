"""``fracturenet predict``: class probabilities for new images, streamed in batches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from fracturenet.commands._common import check_positive, print_json, progress
from fracturenet.commands._registry import UsageError, command
from fracturenet.commands.train_config import PRECISION_HELP


@command(
    "predict",
    "Predict new images (files or folders) with a trained run; unreadable files are reported.",
    "fracturenet predict runs/r50 xrays/ --csv predictions.csv --top-k 3",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("model", metavar="RUN", help="run folder or .keras file")
    p.add_argument("images", nargs="+", metavar="IMAGES", help="image files and/or folders")
    p.add_argument("--csv", metavar="OUT.csv", help="write one row per image")
    p.add_argument("--top-k", type=int, default=3, help="classes listed per image")
    p.add_argument("--batch-size", type=int, default=32, help="images per step")
    p.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"),
        help=PRECISION_HELP,
    )
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="skip",
        help="unreadable images: stop at the first (raise) or list them and go on (skip)",
    )
    p.add_argument(
        "--threshold",
        choices=("model", "argmax"),
        default="model",
        help="two-class models: label by the decision threshold saved with the model "
        "(chosen on its validation split; argmax when it has none) or by argmax",
    )
    p.add_argument("--strict", action="store_true", help="same as --on-error raise")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    p.add_argument("--json", action="store_true", help="print the predictions as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return run


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fracturenet.inference import PredictionResult, Predictor

    check_positive("top_k", args.top_k)
    check_positive("batch_size", args.batch_size)
    if args.csv and Path(args.csv).exists() and not args.overwrite:
        raise UsageError(
            f"--csv {args.csv!r} already exists; choose a new file or pass "
            f"--overwrite. Received: csv={args.csv!r}"
        )
    quiet = args.quiet or args.json
    strict = args.strict or args.on_error == "raise"
    predictor = Predictor.from_run(
        args.model, batch_size=args.batch_size, precision=args.precision, threshold=args.threshold
    )
    progress(
        f"model {predictor.metadata.get('backbone', '?')} "
        f"{predictor.input_shape[0]}x{predictor.input_shape[1]}, "
        f"{len(predictor.class_names)} classes, precision {predictor.precision}",
        quiet=quiet,
    )
    if predictor.decision is not None:
        progress(f"decision threshold: {predictor.decision.describe()}", quiet=quiet)
    parts = []
    done = 0
    for part in predictor.iter_predict(args.images, top_k=args.top_k, strict=strict):
        parts.append(part)
        done += len(part)
        progress(f"{done} images", quiet=quiet)
    if not parts:
        raise UsageError(f"No image files found in {args.images}. Received: images={args.images}")
    result = PredictionResult.concatenate(parts)
    if args.csv:
        result.to_csv(args.csv, overwrite=args.overwrite)
    if args.json:
        print_json(result.to_dict())
    else:
        for row in result.rows():
            if row["error"]:
                print(f"{row['source']}: ERROR {row['error']}")
            else:
                tops = ", ".join(f"{t['label']} {t['probability']:.3f}" for t in row["top_k"])
                if predictor.decision is not None:  # the label need not be the top class
                    tops = f"{row['label']} (by the decision threshold); {tops}"
                print(f"{row['source']}: {tops}")
    if result.errors:
        print(
            f"fracturenet predict: {len(result.errors)} of {len(result)} images could not be "
            "read (listed above/in the output); --on-error raise makes this an error",
            file=sys.stderr,
        )
    return 1 if len(result.errors) == len(result) else 0
