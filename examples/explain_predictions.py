"""Explain a classifier's predictions with Grad-CAM and check where it looked.

Without ``--model`` a small model is trained on the synthetic phantoms first. Phantoms come
with fracture masks, so the example also measures how much of each heatmap falls on the
fracture (heat-in-mask ratio: above 1 means the map concentrates on the fracture). With
``--model run/model.keras --images a.jpg b.jpg`` it explains your own images.

Run: ``python examples/explain_predictions.py [--model FILE --images ...] [--quick]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from fracturenet.data import load_image
from fracturenet.explain import (
    explain,
    explain_to_folder,
    heat_in_mask_ratio,
    save_explanation_grid,
)
from fracturenet.models import load_model, read_metadata
from fracturenet.phantoms import load_fracture_mask, make_synthetic_fractures


def phantom_model(
    out: Path, *, size: int, epochs: int, fine_tune_epochs: int, images_per_class: int
):
    """Trains a small model on phantoms; returns it, its class names and the test images."""
    from fracturenet.config import ModelConfig
    from fracturenet.training import Trainer

    data = make_synthetic_fractures(
        out / "phantoms", images_per_class=images_per_class, image_size=max(size, 64)
    )
    train, test = data.subset("train"), data.subset("test")
    config = ModelConfig("vgg16", data.num_classes, (size, size, 3), weights=None)
    trainer = Trainer(config, run_dir=out / "run", verbose=0)
    trainer.fit(
        train, epochs=epochs, fine_tune_epochs=fine_tune_epochs, unfreeze="all", fine_tune_lr=1e-4
    )
    return trainer.model, list(data.class_names), test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a .keras file from a run")
    parser.add_argument("--images", type=Path, nargs="*", default=[], help="images to explain")
    parser.add_argument("--method", default="gradcam", help="gradcam, gradcam++, layercam, ...")
    parser.add_argument("--quick", action="store_true", help="tiny budget (a smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="new output folder")
    args = parser.parse_args()
    out = args.out or Path("fracturenet-runs") / f"explain-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} exists and is not empty; choose a new folder")
    if (args.model is None) != (not args.images):
        parser.error("give --model and --images together, or neither (phantom mode)")
    out.mkdir(parents=True, exist_ok=True)

    if args.model is not None:
        model, class_names = load_model(args.model), read_metadata(args.model)["class_names"]
        paths, labels = [str(p) for p in args.images], None
    else:
        model, class_names, test = phantom_model(
            out,
            size=32 if args.quick else 64,
            epochs=1 if args.quick else 6,
            fine_tune_epochs=0 if args.quick else 6,
            images_per_class=6 if args.quick else 30,
        )
        first = {}  # one test image per class
        for path, label in zip(test.paths, test.labels, strict=True):
            first.setdefault(label, path)
        labels, paths = list(first), list(first.values())

    images = [load_image(p) for p in paths]
    result = explain(model, images, method=args.method, class_names=class_names)
    save_explanation_grid(
        images, result, out / "explanations.png", true_labels=labels, class_names=class_names
    )
    index = explain_to_folder(
        model,
        paths,
        out / "per_image",
        method=args.method,
        true_labels=labels,
        class_names=class_names,
    )
    for path, heat, name, p in zip(
        paths, result.heatmaps, result.predicted_label, result.probability, strict=True
    ):
        line = f"{Path(path).name}: predicted {name} ({p:.2f})"
        if args.model is None:
            line += f", heat-in-mask ratio {heat_in_mask_ratio(heat, load_fracture_mask(path)):.2f}"
        print(line)
    if args.model is None:
        ratios = [
            heat_in_mask_ratio(h, load_fracture_mask(p))
            for h, p in zip(result.heatmaps, paths, strict=True)
        ]
        print(f"median heat-in-mask ratio {np.nanmedian(ratios):.2f} (1 = no better than chance)")
    print("outputs:", out, "| per-image page:", index)


if __name__ == "__main__":
    main()
