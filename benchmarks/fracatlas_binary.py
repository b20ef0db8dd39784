"""FracAtlas, fractured vs not: class weighting and the validation threshold, one JSON.

A cheap, CPU-sized check of the imbalanced-binary path on real data (1 fractured in 5.7):
the same small CNN (``smallcnn``, from random weights, the scratch recipe, 64x64 grey
letterboxed images) is trained twice on the same split and seed, with
``class_weight="auto"`` (resolves to balanced here) and with ``"none"`` (the baseline), each
choosing a decision threshold on the validation split (Youden's J). Both are scored on a
held-out test split at their stored threshold and at argmax, with the clinician's metrics
and 95 % bootstrap intervals, and per body region (``dataset.csv`` flags) with Wilson
intervals. Not a model to use: a measurement of what the weighting and the threshold change.

Split: stratified 60/20/20 by class (seed 0); byte-identical files (FracAtlas holds 56 groups
of exact copies) are kept in one split; no patient ids exist, so other images of one study
may straddle splits (``multiscan``); unreadable (truncated) JPEGs are left out and counted.
Data: FracAtlas (Abedeen et al. 2023, Scientific Data 10, 521; CC BY 4.0), the development
copy in ``../shared/data/fracatlas`` (3,271 images).

Usage:
    PYTHONPATH=src python benchmarks/fracatlas_binary.py [--epochs 12] [--sections cnn vgg16]
        [--out result.json]

Section ``vgg16``: logistic-regression heads (balanced vs unweighted) on the cached frozen
VGG16 ImageNet features of ``benchmarks/real_features.py`` (skipped when the cache file is
absent), same split, threshold by Youden's J on the validation split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "fracatlas"
CACHE = Path("/tmp/fn-cache/fn25b_fracatlas_grey64_letterbox.npz")
SIZE = 64


def _decoded(manifest):
    """(n, 64, 64) uint8 grey letterboxed images of the manifest, ok mask; cached."""
    from fracturenet.data import load_resized

    if CACHE.is_file():
        d = np.load(CACHE)
        if list(d["paths"]) == list(manifest.paths):
            return d["x"], d["ok"]
    x = np.zeros((len(manifest), SIZE, SIZE), np.uint8)
    ok = np.zeros(len(manifest), bool)
    for i, p in enumerate(manifest.paths):
        try:
            x[i] = load_resized(p, SIZE, "letterbox")[..., 0]
            ok[i] = True
        except Exception:  # ImageDecodeError (truncated JPEGs): counted in the JSON
            pass
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    tmp = CACHE.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, x=x, ok=ok, paths=np.array(manifest.paths))
    os.replace(tmp, CACHE)
    return x, ok


def _byte_groups(paths):
    digests = [hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths]
    return digests


def _row(report):
    b = report.metrics["binary"]
    ci = report.intervals
    keys = ("auroc", "pr_auc", "sensitivity", "specificity", "balanced_accuracy", "ppv", "npv",
            "sensitivity_at_90_specificity")  # fmt: skip
    return {
        "operating_point": {
            k: b["operating_point"].get(k) for k in ("source", "threshold", "rule", "chosen_on")
        },
        "positive_class": b["positive_class"],
        "counts": {k: b[k] for k in ("tp", "fp", "tn", "fn", "n_positive", "n_negative")},
        **{k: {"value": b[k], "ci95": [ci[k].low, ci[k].high] if k in ci else None} for k in keys},
    }


def _vgg16_head(split, facets, n_boot):
    """Logistic-regression heads on cached frozen VGG16 (ImageNet) features, same split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from fracturenet.evaluation import EvaluationReport
    from fracturenet.models import choose_threshold

    file = Path(os.environ.get("FRACTURENET_FEATURE_DIR", "/tmp/fn-cache"))
    file = file / "fracatlas-vgg16-imagenet-224px.npz"
    if not file.is_file():
        return {"skipped": f"no cached features at {file} (benchmarks/real_features.py)"}
    d = np.load(file)
    row = {str(p): i for i, p in enumerate(d["paths"])}
    names = list(split.class_names)

    def part(name):
        idx = [row[p] for p in split.subset(name).paths if p in row]
        return d["features"][idx].astype(np.float64), d["labels"][idx], [d["paths"][i] for i in idx]

    (xtr, ytr, _), (xva, yva, _), (xte, yte, pte) = part("train"), part("val"), part("test")
    scaler = StandardScaler().fit(xtr)
    out = {
        "features": f"{file.name}: VGG16 ImageNet no-top (K. Simonyan & A. Zisserman, VGG "
        "Oxford, CC BY 4.0), 224 px letterbox RGB, global average pooled, made by "
        "benchmarks/real_features.py (issue 26's branch)",
        "head": "sklearn LogisticRegression(C=0.1, max_iter=2000) on standardised features",
        "n": {"train": len(ytr), "val": len(yva), "test": len(yte)},
    }
    for cw in ("balanced", None):
        lr = LogisticRegression(C=0.1, max_iter=2000, class_weight=cw)
        lr.fit(scaler.transform(xtr), ytr)
        pva = lr.predict_proba(scaler.transform(xva))
        pte_ = lr.predict_proba(scaler.transform(xte))
        decision = choose_threshold(yva, pva, rule="youden", class_names=names, split="val")
        common = dict(class_names=names, ids=pte, bootstrap=n_boot, facets=facets)
        at_t = EvaluationReport.from_predictions(yte, pte_, decision=decision, **common)
        at_argmax = EvaluationReport.from_predictions(
            yte, pte_, positive_class=decision.positive_class, **common
        )
        out[str(cw or "none")] = {
            "threshold": decision.to_dict(),
            "test_at_threshold": _row(at_t),
            "test_at_argmax": _row(at_argmax),
            "per_region_at_threshold": at_t.metrics["facets"]["region"],
        }
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--sections", nargs="+", default=["cnn", "vgg16"], choices=["cnn", "vgg16"])
    args = ap.parse_args(argv)

    from fracturenet.config import ModelConfig
    from fracturenet.data import (
        class_weight_choice,
        discover,
        imbalance_ratio,
        train_val_test_split,
    )
    from fracturenet.evaluation import EvaluationReport
    from fracturenet.evaluation.facets import facets_from_csv
    from fracturenet.training import Trainer

    if not (DATA / "images").is_dir():
        print(json.dumps({"skipped": f"no FracAtlas copy at {DATA}"}))
        return 0
    t0 = time.time()
    manifest = discover(DATA / "images")
    x_all, ok = _decoded(manifest)
    groups = _byte_groups(manifest.paths)
    manifest = manifest.with_groups(groups)
    split = train_val_test_split(manifest, val=0.2, test=0.2, seed=0, groups="manifest")
    facets = facets_from_csv(DATA / "dataset.csv", ["region=hand,leg,hip,shoulder,mixed"])
    index = {p: i for i, p in enumerate(manifest.paths)}
    labels = np.asarray(manifest.labels)

    def arrays(name):
        idx = [index[p] for p in split.subset(name).paths if ok[index[p]]]
        return (
            x_all[idx][..., None].astype(np.float32),
            labels[idx],
            [manifest.paths[i] for i in idx],
        )

    (xtr, ytr, _), (xva, yva, _), (xte, yte, pte) = arrays("train"), arrays("val"), arrays("test")
    prep = time.time() - t0
    out = {
        "data": "FracAtlas development copy (Abedeen et al. 2023, CC BY 4.0)",
        "classes": list(manifest.class_names),
        "n_images": len(manifest),
        "unreadable_left_out": int((~ok).sum()),
        "split": {
            "rule": "stratified 60/20/20, seed 0, byte-identical files grouped",
            "n": {"train": len(ytr), "val": len(yva), "test": len(yte)},
            "fractured": {
                "train": int((ytr == 0).sum()),
                "val": int((yva == 0).sum()),
                "test": int((yte == 0).sum()),
            },  # fmt: skip
            "imbalance_ratio_train": imbalance_ratio(ytr),
        },
        "model": f"smallcnn from random weights, scratch recipe, {SIZE}x{SIZE}x1 letterbox, "
        f"{args.epochs} epochs, batch 64, seed 42, float32, best epoch by val_accuracy",
        "prep_s": round(prep, 1),
        "runs": {},
    }
    for cw in ("auto", "none") if "cnn" in args.sections else ():
        t1 = time.time()
        cfg = ModelConfig("smallcnn", num_classes=2, input_shape=(SIZE, SIZE, 1), weights=None)
        trainer = Trainer(cfg, precision="float32", verbose=0, seed=42,
                          class_names=manifest.class_names)  # fmt: skip
        trainer.fit((xtr, ytr), (xva, yva), epochs=args.epochs, batch_size=64, class_weight=cw)
        from fracturenet.evaluation.evaluate import predict_proba
        from fracturenet.models import decision_threshold_of

        p = np.concatenate([predict_proba(trainer.model, xte[i : i + 256])
                            for i in range(0, len(xte), 256)])  # fmt: skip
        decision = decision_threshold_of(trainer.model)
        common = dict(class_names=manifest.class_names, ids=pte, bootstrap=args.bootstrap,
                      facets=facets)  # fmt: skip
        at_t = EvaluationReport.from_predictions(yte, p, decision=decision, **common)
        at_argmax = EvaluationReport.from_predictions(
            yte, p, positive_class=decision.positive_class if decision else None, **common
        )
        out["runs"][cw] = {
            "class_weight": class_weight_choice(ytr, cw, num_classes=2)[1],
            "threshold": decision.to_dict() if decision else None,
            "test_at_threshold": _row(at_t),
            "test_at_argmax": _row(at_argmax),
            "per_region_at_threshold": at_t.metrics["facets"]["region"],
            "train_s": round(time.time() - t1, 1),
        }
        print(f"{cw}: done in {time.time() - t1:.0f} s", file=sys.stderr, flush=True)
    if "vgg16" in args.sections:
        out["vgg16_head"] = _vgg16_head(split, facets, args.bootstrap)
    text = json.dumps(out, indent=1, default=float)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
