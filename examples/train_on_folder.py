"""Train one backbone on a folder of X-rays and evaluate it on held-out images.

The folder is any layout :func:`fracturenet.data.discover` reads (``<Class>/*.jpg``,
``<Class>/Train|Test/*.jpg``, ``train|val|test/<Class>/*.jpg`` or a CSV). Without ``--data``
the synthetic phantoms are generated (a pipeline test bed, not medical data). Splits keep
duplicate clusters on one side (``groups="auto"``), so copies of an image never leak from
training into the test set.

Run: ``python examples/train_on_folder.py [--data FOLDER] [--backbone resnet50] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fracturenet.config import ModelConfig
from fracturenet.data import discover, make_dataset, train_val_test_split
from fracturenet.evaluation import evaluate
from fracturenet.evaluation.plots import plot_confusion_matrix
from fracturenet.models import imagenet_weights_cached, list_backbones
from fracturenet.phantoms import make_synthetic_fractures


def train_on_folder(
    data: Path | None,
    out: Path,
    *,
    backbone: str,
    size: int,
    epochs: int,
    fine_tune_epochs: int,
    bootstrap: int,
    images_per_class: int,
) -> dict:
    """Trains ``backbone`` on ``data`` (or phantoms) into ``out``; returns the test metrics."""
    from fracturenet.training import Trainer

    if data is None:
        manifest = make_synthetic_fractures(
            out / "phantoms", images_per_class=images_per_class, image_size=max(size, 48)
        )
    else:
        manifest = discover(data)
    has_test = "test" in manifest.split_names()
    split = train_val_test_split(manifest, val=0.2, test=0.0 if has_test else 0.2, seed=0)
    train, val, test = (split.subset(s) for s in ("train", "val", "test"))
    print(
        f"{len(train)} train / {len(val)} val / {len(test)} test images, "
        f"{manifest.num_classes} classes"
    )

    weights = "imagenet" if imagenet_weights_cached(backbone) else None
    config = ModelConfig(backbone, manifest.num_classes, (size, size, 3), weights=weights)
    trainer = Trainer(config, run_dir=out / "run", verbose=2)
    history = trainer.fit(
        train,
        val,
        epochs=epochs,
        fine_tune_epochs=fine_tune_epochs,
        unfreeze=2 if weights else "all",
        fine_tune_lr=1e-4,
    )
    print(f"trained {history.epochs} epochs; run folder: {out / 'run'}")

    report = evaluate(
        trainer.model,
        make_dataset(test, image_size=size),
        ids=test.paths,
        class_names=test.class_names,
        bootstrap=bootstrap,
        model_name=backbone,
    )
    report.to_json(out / "metrics.json")
    report.to_html(out / "report.html")
    figure = plot_confusion_matrix(report.metrics["confusion_matrix"], test.class_names)
    figure.savefig(out / "confusion_matrix.png", dpi=80, bbox_inches="tight")
    print(report.to_markdown())
    return report.metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset folder or CSV (default: synthetic phantoms)",
    )
    parser.add_argument("--backbone", default="resnet50", choices=list_backbones())
    parser.add_argument("--size", type=int, default=None, help="model input side in pixels")
    parser.add_argument("--epochs", type=int, default=None, help="head-only epochs")
    parser.add_argument("--fine-tune-epochs", type=int, default=None)
    parser.add_argument("--quick", action="store_true", help="tiny budget (a smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="new output folder")
    args = parser.parse_args()
    out = args.out or Path("fracturenet-runs") / f"train_on_folder-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} exists and is not empty; choose a new folder")
    if args.data is not None and not args.data.exists():
        parser.error(f"--data {args.data} does not exist")
    out.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    train_on_folder(
        args.data,
        out,
        backbone=args.backbone,
        size=args.size or (32 if quick else 64),
        epochs=args.epochs if args.epochs is not None else (1 if quick else 5),
        fine_tune_epochs=(
            args.fine_tune_epochs if args.fine_tune_epochs is not None else (0 if quick else 3)
        ),
        bootstrap=100 if quick else 1000,
        images_per_class=6 if quick else 30,
    )
    print("outputs:", out)


if __name__ == "__main__":
    main()
