"""The ``fracturenet demo`` through the public API: phantoms, VGG16 vs ResNet50, a verdict.

Generates the synthetic phantoms, trains both backbones with the same budget, evaluates them
on the same held-out images and compares them with a paired test. ImageNet weights are used
when Keras has them cached, otherwise the models train from scratch.

Run: ``python examples/demo_api.py [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from fracturenet.config import ModelConfig
from fracturenet.data import make_dataset, train_val_test_split
from fracturenet.evaluation import compare, evaluate
from fracturenet.models import imagenet_weights_cached
from fracturenet.phantoms import make_synthetic_fractures
from fracturenet.training import Trainer


def run(
    out: Path,
    *,
    images_per_class: int,
    size: int,
    epochs: int,
    fine_tune_epochs: int,
    bootstrap: int,
) -> str:
    phantoms = make_synthetic_fractures(
        out / "phantoms", images_per_class=images_per_class, image_size=max(size, 48)
    )
    data = train_val_test_split(phantoms, val=0.2, groups=None)  # keeps the phantoms' Test split
    train, val, test = (data.subset(s) for s in ("train", "val", "test"))
    reports = []
    for backbone in ("vgg16", "resnet50"):
        weights = "imagenet" if imagenet_weights_cached(backbone) else None
        config = ModelConfig(backbone, train.num_classes, (size, size, 3), weights=weights)
        trainer = Trainer(config, run_dir=out / backbone, verbose=0)
        trainer.fit(
            train,
            val,
            epochs=epochs,
            fine_tune_epochs=fine_tune_epochs,
            unfreeze=2 if weights else "all",
            fine_tune_lr=1e-4,
        )
        test_data = make_dataset(test, image_size=size)
        reports.append(
            evaluate(
                trainer.model,
                test_data,
                ids=test.paths,
                bootstrap=bootstrap,
                class_names=test.class_names,
                model_name=backbone,
            )
        )
    result = compare(*reports)
    result.plot().savefig(out / "comparison.png", dpi=80, bbox_inches="tight")
    print(result.to_markdown())
    return result.verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny budget (a smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="new output folder")
    args = parser.parse_args()
    out = args.out or Path("fracturenet-runs") / f"demo_api-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    budget = (
        dict(images_per_class=6, size=32, epochs=1, fine_tune_epochs=0, bootstrap=100)
        if args.quick
        else dict(images_per_class=24, size=48, epochs=3, fine_tune_epochs=3, bootstrap=1000)
    )
    print("verdict:", run(out, **budget))
    print("outputs:", out)


if __name__ == "__main__":
    main()
