"""Transfer learning on real radiographs: the library's rows against simple baselines, one JSON.

Datasets (``--datasets``), each with one set of folds shared by every row:

* ``bone-break``: ``../shared/data/bone-break`` (its Train split, 10 classes), grouped
  stratified 5-fold CV; groups are the audit's duplicate clusters (``group_duplicates``).
* ``fracatlas``: ``../shared/data/fracatlas`` (fractured vs not), grouped 5-fold CV
  stratified by label x body region (``dataset.csv``: hand, leg, hip, shoulder, mixed).

Rows (``--rows``; every row is scored on the held-out fold only):

* ``majority``: the training fold's majority class.
* ``pixels_logreg`` / ``pixels_svm``: standardised grey letterboxed pixels: 16x16 (the 64x64
  cache average-pooled 4x4: the C search on 64x64 or 32x32 pixels had not finished one
  Bone Break fold after 9 and 12 min on the 2 shared cores) for the logistic regression (C
  by inner grouped CV), 64x64 for the RBF SVM (C=1, gamma "scale", Platt probabilities).
* ``probe_random`` / ``probe_imagenet``: the linear-probe oracle, scikit-learn
  ``StandardScaler + LogisticRegression`` with C chosen by a grouped inner 5-fold CV (log
  loss) on the training fold, on pooled VGG16 features (random / ImageNet weights).
* ``head_default``: the library's ``Trainer(ModelConfig("vgg16")).fit(train_fold)`` with
  every default (224 px, head on cached frozen features); the features come from the same
  extraction through the Trainer's disk feature cache, so no backbone pass is repeated.

Per row: mean +/- sd over folds of accuracy, macro-F1 and AUROC (binary) / macro one-vs-rest
AUROC; a paired t-test over folds of each row against ``probe_imagenet`` (and McNemar on the
pooled out-of-fold predictions); wall time. Features are read from (or written to) the cache
of ``benchmarks/real_features.py``.

Usage:
    PYTHONPATH=src python benchmarks/real_transfer.py --datasets bone-break fracatlas \
        --size bone-break=224 fracatlas=96 \
        --rows majority pixels_logreg pixels_svm probe_imagenet head_default \
        --out benchmarks/results/real-transfer.json

Provenance: ImageNet VGG16 weights by K. Simonyan and A. Zisserman (Visual Geometry Group,
Oxford), CC BY 4.0. FracAtlas: Abedeen et al., Scientific Data 10, 521 (2023), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_features import CACHE, SHARED, extract, manifest  # noqa: E402

ROWS = (
    "majority",
    "pixels_logreg",
    "pixels_svm",
    "probe_random",
    "probe_imagenet",
    "head_default",
)
CS = np.logspace(-4, 1, 11)
ATTRIBUTION = {
    "weights": "ImageNet VGG16 (keras.applications no-top file rebuilt offline by "
    "shared/tools/imagenet-vgg16/install.sh), by K. Simonyan and A. Zisserman, Visual "
    "Geometry Group, Oxford; CC BY 4.0",
    "fracatlas": "Abedeen et al., FracAtlas, Scientific Data 10, 521 (2023), "
    "doi:10.6084/m9.figshare.22363012; CC BY 4.0",
    "bone-break": "Bone Break Classification (Kaggle), its Train split; see shared/data/bone-break",
}


# ----------------------------------------------------------------------------- data
def _cached(name: str, make: Any) -> Any:
    """A JSON/NPZ intermediate in the shared cache, made once (atomic write)."""
    path = CACHE / name
    if path.exists():
        if path.suffix == ".json":
            return json.loads(path.read_text())
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    value = make()
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".json":
        tmp.write_text(json.dumps(value))
    else:
        with open(tmp, "wb") as f:
            np.savez(f, **value)
    os.replace(tmp, path)
    return value


def groups_of(dataset: str, m: Any) -> list[str]:
    """The audit's duplicate clusters (cached per dataset)."""
    from fracturenet.data import audit

    return _cached(
        f"fn26-{dataset}-audit-groups.json", lambda: list(audit(m, progress=False).groups())
    )


def strata_of(dataset: str, m: Any) -> np.ndarray:
    """Stratification labels: the class, and for FracAtlas the class x body region."""
    y = np.asarray(m.labels)
    if dataset != "fracatlas":
        return y
    regions = ("hand", "leg", "hip", "shoulder", "mixed")
    rows = {}
    with open(SHARED / "data/fracatlas/dataset.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["image_id"]] = next((i for i, k in enumerate(regions) if r[k] == "1"), 5)
    region = np.array([rows[Path(p).name] for p in m.paths])
    return y * 10 + region


def pixels(dataset: str, m: Any, size: int = 64) -> np.ndarray:
    """Grey letterboxed pixels (the library's loader), cached."""
    from fracturenet.data import load_resized

    def make() -> dict[str, np.ndarray]:
        rgb = np.stack([load_resized(p, size) for p in m.paths]).astype("float32")
        grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
        return {"pixels": grey.reshape(len(m.paths), -1), "paths": np.array(m.paths)}

    z = _cached(f"fn26-{dataset}-grey-{size}px.npz", make)
    assert list(z["paths"]) == list(m.paths)
    return z["pixels"]


def features(dataset: str, weights: str, size: int, m: Any) -> np.ndarray:
    with np.load(extract(dataset, weights, size)) as z:
        if list(z["paths"]) != list(m.paths):
            raise RuntimeError(f"feature cache of {dataset} is not in manifest order")
        return z["features"]


def folds_of(strata: np.ndarray, groups: list[str], k: int, seed: int) -> list[np.ndarray]:
    """Fold index of each image's held-out fold (StratifiedGroupKFold, shuffled)."""
    from sklearn.model_selection import StratifiedGroupKFold

    ids = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    g = np.array([ids[x] for x in groups])
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [te for _, te in cv.split(np.zeros(len(g)), strata, g)]


# ----------------------------------------------------------------------------- rows
def _logreg_cv(x: np.ndarray, y: np.ndarray, g: np.ndarray, seed: int) -> Any:
    """StandardScaler + LogisticRegression, C by grouped inner 5-fold CV (log loss)."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    z = scaler.transform(x)
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegressionCV(
            Cs=list(CS), cv=list(cv.split(z, y, g)), scoring="neg_log_loss", max_iter=1000
        ).fit(z, y)
    from sklearn.pipeline import make_pipeline

    return make_pipeline(scaler, lr), {"C": float(np.ravel(lr.C_)[0])}


def _svm(x: np.ndarray, y: np.ndarray, g: np.ndarray, seed: int) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return make_pipeline(StandardScaler(), SVC(probability=True, random_state=seed)).fit(x, y), {}


def _head(ctx: dict[str, Any], tr: np.ndarray, te: np.ndarray, **fit: Any) -> tuple[Any, dict]:
    """The library's Trainer on the training fold, features via its disk cache."""
    import keras

    from fracturenet.config import ModelConfig
    from fracturenet.models import split_feature_extractor
    from fracturenet.training import FeatureCache, Trainer
    from fracturenet.training.feature_cache import manifest_feature_key

    m, x = ctx["manifest"], ctx["imagenet"]
    train = m.select(tr.tolist())
    cfg = ModelConfig(
        backbone="vgg16", num_classes=len(m.class_names), input_shape=(ctx["size"],) * 2 + (3,),
        binary=False,
    )  # fmt: skip
    trainer = Trainer(cfg, verbose=0, seed=ctx["seed"])
    cache_dir = ctx["tmp"]
    FeatureCache(cache_dir).save(
        manifest_feature_key(trainer.model, train), x[tr], np.asarray(m.labels)[tr]
    )
    kw: dict[str, Any] = {"feature_cache": "disk", "feature_cache_dir": cache_dir, **fit}
    hist = trainer.fit(train, None, **kw)
    head = split_feature_extractor(trainer.model)[1]
    prob = np.asarray(head.predict(x[te], verbose=0, batch_size=256), dtype=np.float64)
    info = {"epochs": hist.epochs, "policy": trainer.model.dtype_policy.name,
            "train_loss_last": round(float(hist.rows[-1]["loss"]), 4)}  # fmt: skip
    keras.backend.clear_session()
    return prob, info


def run_row(row: str, ctx: dict[str, Any]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, roc_auc_score

    y = np.asarray(ctx["manifest"].labels)
    k = len(ctx["manifest"].class_names)
    oof = np.zeros((len(y), k))
    per_fold, infos = [], []
    t0 = time.perf_counter()
    for te in ctx["folds"]:
        tr = np.setdiff1d(np.arange(len(y)), te)
        g = ctx["group_ids"][tr]
        if row == "majority":
            prob = np.tile(np.eye(k)[np.bincount(y[tr], minlength=k).argmax()], (len(te), 1))
            info: dict[str, Any] = {}
        elif row.startswith(("pixels_", "probe_")):
            x = ctx["pixels" if row.startswith("pixels") else row.split("_")[1]]
            if row == "pixels_logreg":  # 64x64 -> 16x16, 4x4 means
                x = x.reshape(len(x), 16, 4, 16, 4).mean(axis=(2, 4)).reshape(len(x), -1)
            fit = _svm if row == "pixels_svm" else _logreg_cv
            est, info = fit(x[tr], y[tr], g, ctx["seed"])
            prob = np.zeros((len(te), k))
            prob[:, est.classes_] = est.predict_proba(x[te])
        elif row == "head_default":
            prob, info = _head(ctx, tr, te, **ctx["head_kwargs"])
            if prob.shape[1] == 1:
                prob = np.concatenate([1 - prob, prob], axis=1)
        else:
            raise ValueError(f"unknown row {row!r}; choose from {ROWS}")
        oof[te] = prob
        pred = prob.argmax(1)
        auc = (
            roc_auc_score(y[te], prob[:, 1])
            if k == 2
            else roc_auc_score(y[te], prob, multi_class="ovr", average="macro",
                               labels=np.arange(k))
        )  # fmt: skip
        per_fold.append(
            {
                "n": len(te),
                "accuracy": accuracy_score(y[te], pred),
                "balanced_accuracy": balanced_accuracy_score(y[te], pred),
                "macro_f1": f1_score(y[te], pred, average="macro"),
                "auroc": auc,
                "log_loss": float(-np.mean(np.log(np.clip(prob[np.arange(len(te)), y[te]],
                                                          1e-7, 1)))),
            }
        )  # fmt: skip
        infos.append(info)
    out: dict[str, Any] = {"row": row, "seconds": round(time.perf_counter() - t0, 1)}
    for key in ("accuracy", "balanced_accuracy", "macro_f1", "auroc", "log_loss"):
        v = np.array([f[key] for f in per_fold])
        out[key] = {"mean": round(float(v.mean()), 4), "sd": round(float(v.std(ddof=1)), 4),
                    "folds": [round(float(a), 4) for a in v]}  # fmt: skip
    out["fold_info"] = infos
    out["_oof"] = oof
    return out


def paired(row: dict[str, Any], ref: dict[str, Any], y: np.ndarray) -> dict[str, Any]:
    """Paired t-test over folds (accuracy, AUROC) and McNemar on pooled predictions."""
    from scipy import stats

    from fracturenet.evaluation.significance import mcnemar_test

    out: dict[str, Any] = {"against": ref["row"]}
    for key in ("accuracy", "balanced_accuracy", "auroc"):
        d = np.array(row[key]["folds"]) - np.array(ref[key]["folds"])
        se = d.std(ddof=1) / np.sqrt(len(d))
        t = stats.t.ppf(0.975, len(d) - 1)
        p = float(stats.ttest_rel(row[key]["folds"], ref[key]["folds"]).pvalue) if se else 1.0
        out[key] = {"diff": round(float(d.mean()), 4),
                    "ci95": [round(float(d.mean() - t * se), 4), round(float(d.mean() + t * se), 4)],
                    "t_test_p": round(p, 4)}  # fmt: skip
    a = row["_oof"].argmax(1) == y
    b = ref["_oof"].argmax(1) == y
    _, _, p, how = mcnemar_test(a, b)
    out["mcnemar_p_pooled"] = round(float(p), 4)
    out["mcnemar_method"] = how
    return out


def run_dataset(dataset: str, rows: list[str], a: argparse.Namespace) -> dict[str, Any]:
    size = _size_of(dataset, a.size)
    m = manifest(dataset)
    with np.load(extract(dataset, "imagenet", size)) as z:  # its files: the readable ones
        kept, skipped = set(z["paths"].tolist()), z["skipped"].tolist()
    m = m.select([i for i, p in enumerate(m.paths) if p in kept])
    groups = groups_of(dataset, m)
    ids = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    folds = folds_of(strata_of(dataset, m), groups, a.folds, a.seed)
    m = m.with_groups(groups)  # the Trainer's inner folds (the head's penalty) respect them
    ctx: dict[str, Any] = {"manifest": m, "folds": folds, "seed": a.seed, "size": size,
                           "head_kwargs": json.loads(a.head_kwargs),
                           "group_ids": np.array([ids[x] for x in groups])}  # fmt: skip
    need = set(rows)
    if need & {"pixels_logreg", "pixels_svm"}:
        ctx["pixels"] = pixels(dataset, m)
    if "probe_random" in need:
        ctx["random"] = features(dataset, "random", size, m)
    if need & {"probe_imagenet", "head_default"}:
        ctx["imagenet"] = features(dataset, "imagenet", size, m)
    y = np.asarray(m.labels)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        ctx["tmp"] = tmp
        for row in rows:
            print(f"[{dataset}] {row} ...", file=sys.stderr, flush=True)
            results.append(run_row(row, ctx))
            r = results[-1]
            print(f"[{dataset}] {row}: acc {r['accuracy']['mean']:.4f} +/- "
                  f"{r['accuracy']['sd']:.4f} auroc {r['auroc']['mean']:.4f} "
                  f"({r['seconds']}s)", file=sys.stderr, flush=True)  # fmt: skip
    chance = []  # log loss of the training fold's class frequencies: the loss to stay below
    for te in folds:
        prior = np.bincount(np.delete(y, te), minlength=len(m.class_names)) / (len(y) - len(te))
        chance.append(float(-np.mean(np.log(prior[y[te]]))))
    ref = next((r for r in results if r["row"] == "probe_imagenet"), None)
    for r in results:
        if ref is not None and r is not ref:
            r["paired_vs_probe_imagenet"] = paired(r, ref, y)
    for r in results:
        del r["_oof"]
    return {
        "dataset": dataset,
        "n": len(m),
        "unreadable_left_out": skipped,
        "classes": list(m.class_names),
        "class_counts": m.class_counts(),
        "cv": f"{a.folds}-fold StratifiedGroupKFold (shuffled, seed {a.seed}); groups: the "
        "audit's duplicate clusters ("
        f"{len(ids)} groups for {len(m)} images); strata: "
        + ("label x body region (dataset.csv)" if dataset == "fracatlas" else "label"),
        "n_per_fold": [len(f) for f in folds],
        "input_size": size,
        "resize": "letterbox (the library's default), RGB 0..255",
        "chance_log_loss": round(float(np.mean(chance)), 4),
        "rows": results,
        "data_citation": ATTRIBUTION[dataset],
    }


def _size_of(dataset: str, sizes: list[str]) -> int:
    """The input size for ``dataset`` from ``--size`` (one number, or NAME=SIZE entries)."""
    named = dict(item.split("=", 1) for item in sizes if "=" in item)
    plain = [item for item in sizes if "=" not in item]
    return int(named.get(dataset, plain[0] if plain else 224))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["bone-break", "fracatlas"],
                   choices=["bone-break", "fracatlas"])  # fmt: skip
    p.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", nargs="+", default=["224"],
                   help="input size for every dataset, or DATASET=SIZE entries, e.g. "
                   "bone-break=224 fracatlas=96")  # fmt: skip
    p.add_argument("--out", default=None)
    p.add_argument("--head-kwargs", default="{}",
                   help="JSON of Trainer.fit arguments for head_default, e.g. '{\"lr\": 3e-3}' "
                   "(default: none, the library's defaults)")  # fmt: skip
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    result = {
        "benchmark": "real_transfer",
        "command": "PYTHONPATH=src python benchmarks/real_transfer.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "weights_attribution": ATTRIBUTION["weights"],
        "datasets": [run_dataset(d, a.rows, a) for d in a.datasets],
    }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(result, indent=1, default=float)
    if a.out:
        Path(a.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
