"""Where does an ImageNet-VGG16 transfer model look on FracAtlas? Every method vs baselines.

Trains the head of a frozen ImageNet VGG16 (``build_classifier("vgg16")``, 224 px letterbox,
``head_pool -> head_dropout -> predictions``) as a linear probe on FracAtlas, holds out one
fold of a grouped, stratified 5-fold split (groups: the audit's duplicate clusters, so no
duplicate straddles train and test; strata: label x body region), and scores every CAM method
of ``fracturenet.explain`` plus three baselines (centred Gaussian, seeded random map, bone
brightness) against the expert fracture outlines of held-out fractured images with
``compare_localisation``: pointing game, energy share, IoU/Dice at top k %, bootstrap CIs, and
deletion/insertion faithfulness. Prints one JSON object.

Features: pooled VGG16 features are read from the shared cache of issue 26
(``/tmp/fn-cache/fracatlas-vgg16-imagenet-224px.npz``, written by
``benchmarks/real_features.py``; extracted here the same way when absent) and the audit's
duplicate groups from ``/tmp/fn-cache/fracatlas-audit-groups.json`` (computed when absent).

Usage:
    PYTHONPATH=src nice -n 5 python benchmarks/explain_localisation.py --n-test 40 \
        > benchmarks/results/explain-localisation.json

Provenance: ImageNet VGG16 weights by K. Simonyan and A. Zisserman (Visual Geometry Group,
Oxford), CC BY 4.0. FracAtlas: Abedeen et al., "FracAtlas: A Dataset for Fracture
Classification, Localization and Segmentation of Musculoskeletal Radiographs", Scientific
Data 10, 521 (2023), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FRACTURENET_SHARED", REPO.parent / "shared"))
FRACATLAS = SHARED / "data" / "fracatlas"
CACHE = Path(os.environ.get("FRACTURENET_FEATURE_DIR", "/tmp/fn-cache"))
REGIONS = ("hand", "leg", "hip", "shoulder", "mixed")


def _atomic_json(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


def duplicate_groups(m) -> list[str]:
    """The audit's duplicate clusters, shared with issue 26's cache."""
    path = CACHE / "fracatlas-audit-groups.json"
    if path.exists():
        return json.loads(path.read_text())
    from fracturenet.data import audit

    groups = list(audit(m, progress=False).groups())
    CACHE.mkdir(parents=True, exist_ok=True)
    _atomic_json(path, groups)
    return groups


def features(m, idx: np.ndarray, size: int, tag: str) -> tuple[np.ndarray, str, float]:
    """Pooled ImageNet-VGG16 features of images ``idx`` (float32, the library's path).

    Read from issue 26's whole-dataset cache when it exists, else from this script's own
    cache (``fn27-fracatlas-vgg16-imagenet-<size>px-<tag>.npz``), else extracted with
    ``make_dataset`` (letterbox, as the Trainer builds it) -> ``split_feature_extractor``.
    """
    whole = CACHE / f"fracatlas-vgg16-imagenet-{size}px.npz"
    if whole.exists():
        with np.load(whole) as z:
            if list(z["paths"]) == list(m.paths):
                return z["features"][idx].astype(np.float32), str(z["policy"]), 0.0
    own = CACHE / f"fn27-fracatlas-vgg16-imagenet-{size}px-{tag}.npz"
    wanted = [m.paths[i] for i in idx]
    if own.exists():
        with np.load(own) as z:
            if list(z["paths"]) == wanted:
                return z["features"], "float32", 0.0
    import keras

    from fracturenet.data import make_dataset
    from fracturenet.models import build_classifier, split_feature_extractor
    from fracturenet.training.feature_cache import extract_features

    keras.mixed_precision.set_global_policy("float32")
    model = build_classifier(
        "vgg16", num_classes=2, input_shape=(size, size, 3), weights="imagenet",
        feature_norm=False, dense_units=None,
    )  # fmt: skip
    extractor, _ = split_feature_extractor(model)
    ds = make_dataset(m.select(idx), image_size=size, batch_size=32, training=False)
    t0 = time.perf_counter()
    feats, _ = extract_features(extractor, ds, verbose=0)
    seconds = time.perf_counter() - t0
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = own.with_name(own.name + ".tmp.npz")
    np.savez(tmp, features=feats, paths=np.array(wanted), seconds=seconds)
    os.replace(tmp, own)
    return np.asarray(feats, np.float32), "float32", seconds


def strata(m) -> np.ndarray:
    rows = {}
    with open(FRACATLAS / "dataset.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows[r["image_id"]] = next((i for i, k in enumerate(REGIONS) if r[k] == "1"), 5)
    return np.asarray(m.labels) * 10 + np.array([rows[Path(p).name] for p in m.paths])


def readable(m, idx: np.ndarray) -> np.ndarray:
    """The images of ``idx`` the library's decoder reads (FracAtlas has truncated JPEGs)."""
    from fracturenet.data import load_image
    from fracturenet.exceptions import ImageDecodeError

    keep = []
    for i in idx:
        try:
            load_image(m.paths[i])
            keep.append(i)
        except ImageDecodeError:
            pass
    return np.asarray(keep, dtype=np.int64)


def held_out_fold(m, groups, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedGroupKFold

    ids = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    g = np.array([ids[x] for x in groups])
    cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    _, test = next(iter(cv.split(np.zeros(len(g)), strata(m), g)))
    return test


def train_model(x: np.ndarray, y: np.ndarray, size: int, c: float, positive: int):
    """A linear probe (standardised features, logistic regression) folded into the head."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from fracturenet.models import build_classifier

    scaler = StandardScaler().fit(x)
    probe = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    probe.fit(scaler.transform(x), y)
    w = probe.coef_[0] / scaler.scale_
    b = probe.intercept_[0] - float(np.dot(w, scaler.mean_))
    keras.mixed_precision.set_global_policy("float32")
    model = build_classifier(
        "vgg16", num_classes=2, input_shape=(size, size, 3), weights="imagenet",
        feature_norm=False, dense_units=None,
    )  # fmt: skip
    # softmax over (-z/2, z/2) is sigmoid(z): the probe's probability of class `positive`
    sign = np.array([1.0, -1.0] if positive == 0 else [-1.0, 1.0])
    kernel = (w[:, None] * sign[None, :] / 2).astype("float32")
    model.get_layer("predictions").set_weights([kernel, (b * sign / 2).astype("float32")])
    return model, probe, scaler


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-test", type=int, default=40, help="held-out fractured images scored")
    p.add_argument("--size", type=int, default=160)
    p.add_argument(
        "--negatives", type=float, default=2.0,
        help="non-fractured training images per fractured one (a subset, to save CPU)",
    )  # fmt: skip
    p.add_argument("--methods", nargs="+", default=None, help="default: all but full scorecam")
    p.add_argument("--steps", type=int, default=4, help="deletion/insertion steps (0: skip)")
    p.add_argument("--smooth-samples", type=int, default=10)
    p.add_argument("--tolerance", type=float, default=None, help="default: 15 px x size / 224")
    p.add_argument("--top-k", type=float, default=0.05)
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--c", type=float, default=0.1, help="probe's inverse L2 penalty")
    p.add_argument("--check", type=int, default=60, help="held-out images per class for AUROC")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke", action="store_true", help="a few images, to check the path")
    a = p.parse_args(argv)

    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    from fracturenet.data import annotation_mask, discover, load_image, read_coco
    from fracturenet.explain import METHODS, compare_localisation

    t0 = time.perf_counter()
    m = discover(FRACATLAS / "images")
    fractured = m.class_names.index("Fractured")
    groups = duplicate_groups(m)
    y = (np.asarray(m.labels) == fractured).astype(int)
    test = held_out_fold(m, groups, a.seed)
    train_all = np.setdiff1d(np.arange(len(m)), test)
    assert not {groups[i] for i in train_all} & {groups[i] for i in test}
    rng = np.random.default_rng(a.seed)
    pos, neg = train_all[y[train_all] == 1], train_all[y[train_all] == 0]
    neg = np.sort(rng.permutation(neg)[: int(round(a.negatives * len(pos)))])
    train = readable(m, np.sort(np.r_[pos, neg]))
    # test-set check of the probe: every held-out fractured image and as many non-fractured
    t_pos, t_neg = test[y[test] == 1], test[y[test] == 0]
    n_check = min(len(t_pos), a.check)
    check = readable(m, np.sort(np.r_[t_pos[:n_check], rng.permutation(t_neg)[:n_check]]))
    if a.smoke:  # a quick run of the whole path on a few images (numbers meaningless)
        train = np.r_[pos[:6], neg[:6]]
        check = np.r_[t_pos[: a.n_test], t_neg[:4]]
    tag = "smoke-" if a.smoke else ""
    feats_train, policy, extract_s = features(m, train, a.size, tag + "train")
    feats_check, _, check_s = features(m, check, a.size, tag + "check")
    model, probe, scaler = train_model(feats_train, y[train], a.size, a.c, fractured)
    p_check = probe.predict_proba(scaler.transform(feats_check))[:, 1]
    tolerance = a.tolerance if a.tolerance is not None else round(15.0 * a.size / 224, 1)
    coco = read_coco(FRACATLAS / "annotations" / "coco.json")
    candidates = [i for i in check if y[i] == 1 and len(coco.get(Path(m.paths[i]).name, ()))]
    chosen = sorted(np.random.default_rng(a.seed).permutation(candidates)[: a.n_test].tolist())
    names = [Path(m.paths[i]).name for i in chosen]
    images = [load_image(m.paths[i]) for i in chosen]
    masks = [annotation_mask(coco[n]) for n in names]
    # the Keras model (float32) against the probe on the cached features (precision `policy`)
    from fracturenet.explain import fit_images

    keras_p = np.asarray(model(fit_images(model, images[:4])[0]))[:, fractured]
    at = {int(i): k for k, i in enumerate(check)}
    probe_p = p_check[[at[i] for i in chosen[:4]]]
    methods = a.methods or [k for k in METHODS if k != "scorecam"]
    t1 = time.perf_counter()
    c = compare_localisation(
        model, images, masks, methods=methods, names=names, target=fractured,
        class_names=[n.lower() for n in m.class_names], tolerance=tolerance, top_k=a.top_k,
        faithfulness_steps=a.steps, n_boot=a.n_boot, seed=a.seed,
        method_kwargs={"smoothgrad": {"smooth_samples": a.smooth_samples}},
    )  # fmt: skip
    out = {
        "benchmark": "explain_localisation",
        "data": {
            "dataset": "FracAtlas development copy (3,271 images), Abedeen et al. 2023, CC BY 4.0",
            "split": "held-out fold 0 of StratifiedGroupKFold(5, shuffle, seed "
            f"{a.seed}); groups = audit duplicate clusters ({len(set(groups))} groups), "
            "strata = label x body region",
            "n_train": len(train),
            "n_train_fractured": len(pos),
            "n_train_available": len(train_all),
            "n_test": len(test),
            "n_test_fractured_annotated": len(candidates),
            "n_scored": len(chosen),
            "outlines": "COCO polygons (annotations/coco.json), rasterised at the stored size",
        },
        "model": {
            "backbone": "VGG16, ImageNet weights (K. Simonyan & A. Zisserman, VGG Oxford, "
            "CC BY 4.0), frozen",
            "input": f"{a.size}x{a.size} RGB, letterbox, raw 0-255 in",
            "head": f"linear probe: StandardScaler + LogisticRegression(C={a.c}, balanced) on "
            "the head_pool features, folded into the predictions layer",
            "feature_precision": policy,
            "check_set": f"the first {n_check} held-out fractured + {n_check} random held-out "
            f"non-fractured images, {len(check)} readable",
            "check_auroc": float(roc_auc_score(y[check], p_check)),
            "check_balanced_accuracy": float(balanced_accuracy_score(y[check], p_check > 0.5)),
            "keras_vs_probe_max_abs_diff": float(np.max(np.abs(keras_p - probe_p))),
        },
        "settings": {
            "methods": methods,
            "scorecam_left_out": "full Score-CAM needs one forward pass per block5_conv3 "
            "channel (512) per image; faster-scorecam (max_N=10) stands in for it",
            "smoothgrad_samples": a.smooth_samples,
        },
        "comparison": c.to_dict(),
        "markdown": c.to_markdown(),
        "seconds": {
            "setup": round(t1 - t0, 1),
            "feature_extraction": round(extract_s + check_s, 1),
            "compare": round(time.perf_counter() - t1, 1),
        },
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
    }
    print(json.dumps(out, indent=1))
    print(c.to_markdown(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
