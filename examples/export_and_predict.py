"""Train a small model, export it (SavedModel and TFLite) with a parity check, then predict.

Shows the deployment path: a Trainer run folder -> ``export_model`` (each export is checked
against the Keras model on sample images and the parity report is stored beside it) ->
``Predictor`` on a folder of new images, streamed in batches, written as CSV. Without
``--data`` the synthetic phantoms are generated (a pipeline test bed, not medical data).

Run: ``python examples/export_and_predict.py [--data FOLDER] [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fracturenet.config import ModelConfig
from fracturenet.data import discover, train_val_test_split
from fracturenet.inference import Predictor
from fracturenet.inference.export import export_model
from fracturenet.phantoms import make_synthetic_fractures


def export_and_predict(data: Path | None, out: Path, *, size: int, epochs: int,
                       images_per_class: int) -> dict:
    """Trains into ``out/run``, exports to ``out/exports`` and predicts the test images."""
    from fracturenet.training import Trainer

    manifest = (discover(data) if data is not None else make_synthetic_fractures(
        out / "phantoms", images_per_class=images_per_class, image_size=max(size, 48)))
    split = train_val_test_split(manifest, val=0.2,
                                 test=0.0 if "test" in manifest.split_names() else 0.2)
    train, val, test = (split.subset(s) for s in ("train", "val", "test"))
    config = ModelConfig("vgg16", manifest.num_classes, (size, size, 3), weights=None)
    Trainer(config, run_dir=out / "run", verbose=2).fit(train, val, epochs=epochs)

    parity = {}
    for fmt, quantize in (("savedmodel", None), ("tflite", None), ("tflite", "dynamic")):
        name = f"model-{fmt}{'-' + quantize if quantize else ''}"
        target = out / "exports" / (name + (".tflite" if fmt == "tflite" else ""))
        report = export_model(out / "run" / "model.keras", target, format=fmt,
                              quantize=quantize, sample=list(test.paths[:16]))
        parity[name] = {k: report[k] for k in ("max_abs_diff", "top1_agreement", "passed")}
        print(f"{name}: max |diff| {report['max_abs_diff']:.2e}, "
              f"top-1 agreement {report['top1_agreement']:.3f}, passed={report['passed']}")

    predictor = Predictor.from_run(out / "run")
    result = predictor.predict(list(test.paths), top_k=3)
    result.to_csv(out / "predictions.csv")
    correct = sum(p == test.class_names[y] for p, y in zip(result.labels, test.labels))
    print(f"predicted {len(result.sources)} images ({len(result.errors)} unreadable); "
          f"top-1 accuracy {correct / len(test):.3f}; CSV: {out / 'predictions.csv'}")
    summary = {"parity": parity, "predicted": len(result.sources), "accuracy": correct / len(test)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None,
                        help="dataset folder or CSV (default: synthetic phantoms)")
    parser.add_argument("--quick", action="store_true", help="tiny budget (a smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="new output folder")
    args = parser.parse_args()
    out = args.out or Path("fracturenet-runs") / f"export_and_predict-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} exists and is not empty; choose a new folder")
    out.mkdir(parents=True, exist_ok=True)
    export_and_predict(args.data, out, size=32 if args.quick else 64,
                       epochs=1 if args.quick else 10,
                       images_per_class=6 if args.quick else 40)
    print("outputs:", out)


if __name__ == "__main__":
    main()
