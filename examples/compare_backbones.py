"""Study reproduction: is VGG16 or ResNet50 better at classifying fracture types?

Runs k-fold cross-validation of each backbone on the same group-stratified folds (duplicate
clusters found by the audit never straddle training and test), pools each backbone's
out-of-fold predictions, and ends with the paired verdict of
:func:`fracturenet.evaluation.compare` (McNemar's test + paired-bootstrap intervals).

Default data: synthetic phantoms generated into the fracturenet cache (offline, seconds).
For the real study pass the Bone Break Train split::

    python examples/compare_backbones.py --data ../shared/data/bone-break --k 5 \\
        --image-size 96 --epochs 30 --out runs/compare-real

ImageNet weights are used only with ``--weights imagenet`` and must already be in the Keras
cache; the default (random frozen features + a trained head) works offline.
``--naive`` adds a run with ``groups=None`` (random image-level folds) to show how much copies
across folds inflate the score. ``--quick`` is a smoke run that finishes in about a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parses the command line (see ``--help``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="dataset folder or CSV manifest (default: synthetic phantoms)")
    p.add_argument("--k", type=int, default=None, help="folds (default 5; 2 with --quick)")
    p.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="model input side in pixels (default 96; 32 with --quick)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="head-only epochs per fold (default 30; 2 with --quick)",
    )
    p.add_argument("--fine-tune-epochs", type=int, default=0, help="fine-tuning epochs per fold")
    p.add_argument(
        "--weights",
        default=None,
        choices=["imagenet", "none"],
        help="initial backbone weights (default none: offline-safe)",
    )
    p.add_argument("--backbones", default="vgg16,resnet50", help="comma-separated backbones")
    p.add_argument("--seed", type=int, default=0, help="seed of folds, training and bootstrap")
    p.add_argument(
        "--naive",
        action="store_true",
        help="also run random image-level folds (groups=None) to show the leakage",
    )
    p.add_argument("--quick", action="store_true", help="tiny smoke run (about a minute)")
    p.add_argument("--out", help="new folder for the JSON/Markdown results (default: print only)")
    args = p.parse_args(argv)
    args.k = args.k or (2 if args.quick else 5)
    args.image_size = args.image_size or (32 if args.quick else 96)
    args.epochs = args.epochs if args.epochs is not None else (2 if args.quick else 30)
    args.weights = None if args.weights in (None, "none") else args.weights
    args.backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    if len(args.backbones) < 2:
        p.error(f"--backbones needs at least two names. Received: --backbones={args.backbones}")
    return args


def load_data(args: argparse.Namespace):
    """The manifest to cross-validate: ``--data`` or phantoms generated into the cache."""
    from fracturenet.data import discover
    from fracturenet.phantoms import make_synthetic_fractures
    from fracturenet.workflows import default_cache_dir

    if args.data:
        return discover(args.data)
    n, size = (8, 48) if args.quick else (40, 96)
    folder = default_cache_dir() / f"phantoms-n{n}-s{size}-seed{args.seed}"
    manifest = make_synthetic_fractures(folder, images_per_class=n, image_size=size, seed=args.seed)
    print(f"phantoms: {folder}")
    return manifest


def run_study(args: argparse.Namespace, manifest, groups: str | None, out: Path | None) -> dict:
    """Cross-validates every backbone on the same folds and compares their pooled reports."""
    from fracturenet.evaluation import compare
    from fracturenet.workflows import cross_validate

    results = {}
    for backbone in args.backbones:
        print(
            f"\n== {backbone}: {args.k}-fold CV ({'grouped' if groups else 'naive'}), "
            f"{args.image_size}px, "
            f"{args.epochs}+{args.fine_tune_epochs} epochs, weights={args.weights}",
            flush=True,
        )
        cv = cross_validate(
            manifest,
            backbone=backbone,
            k=args.k,
            groups=groups,
            seed=args.seed,
            epochs=args.epochs,
            fine_tune_epochs=args.fine_tune_epochs,
            image_size=args.image_size,
            weights=args.weights,
            bootstrap=200 if args.quick else 2000,
            verbose=1,
            fit_kwargs={"unfreeze": "all"} if args.weights is None else None,
        )
        print(cv.to_markdown())
        results[backbone] = cv
    comparison = compare(
        *(cv.oof for cv in results.values()),
        names=list(results),
        n_boot=200 if args.quick else 2000,
        seed=args.seed,
    )
    tag = "grouped" if groups else "naive"
    label = "duplicate clusters as groups" if groups else "naive image-level folds"
    if out is not None:
        for backbone, cv in results.items():
            cv.to_json(out / f"{tag}-{backbone}-crossval.json")
            cv.oof.to_json(out / f"{tag}-{backbone}-oof.json")
        comparison.to_json(out / f"{tag}-comparison.json")
    summary = {
        b: {m: round(v["pooled"], 4) for m, v in cv.summary().items()} for b, cv in results.items()
    }
    return {
        "folds": label,
        "pooled": summary,
        "verdict": comparison.verdict,
        "mean_sd_accuracy": {
            b: [round(cv.mean("accuracy"), 4), round(cv.sd("accuracy"), 4)]
            for b, cv in results.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    """Runs the study and prints the verdict; returns the exit status."""
    args = parse_args(argv)
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and any(out.iterdir()):
        print(
            f"error: --out {str(out)!r} exists and is not empty; choose a new folder.",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    manifest = load_data(args)
    from fracturenet.data import audit

    # The audit reads every image once; its duplicate clusters become the groups of all runs.
    report = audit(manifest, progress=False)
    grouped = manifest.with_groups(report.groups())
    print(
        f"{len(manifest)} images, {manifest.num_classes} classes, "
        f"{len(report.clusters)} duplicate clusters used as groups"
    )
    runs = [run_study(args, grouped, "manifest", out)]
    if args.naive:
        runs.append(run_study(args, grouped, None, out))
    seconds = round(time.perf_counter() - t0, 1)
    summary = {
        "data": manifest.root,
        "k": args.k,
        "image_size": args.image_size,
        "epochs": args.epochs,
        "fine_tune_epochs": args.fine_tune_epochs,
        "weights": args.weights,
        "seed": args.seed,
        "runs": runs,
        "seconds": seconds,
    }
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps(summary, indent=1))
    for run in runs:
        print(f"\nVERDICT ({run['folds']}): {run['verdict']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
