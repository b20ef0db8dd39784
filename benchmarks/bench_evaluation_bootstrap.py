"""Benchmark: vectorised bootstrap intervals vs. a per-resample scikit-learn loop.

Both use the same resample indices, so they must give identical intervals; the script checks
that and prints JSON with the timings and the speed-up ratio. Default size is one held-out
test set of the study (140 images, 10 classes, 1000 resamples).

    PYTHONPATH=src python benchmarks/bench_evaluation_bootstrap.py [--n 140] [--k 10] [--n-boot 1000]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from sklearn import metrics as skm

from fracturenet.evaluation.bootstrap import bootstrap_ci, resample_indices


def sklearn_loop(y, p, n_boot, seed, with_auc):
    pred = p.argmax(axis=1)
    out = {"accuracy": [], "balanced_accuracy": [], "macro_f1": [], "roc_auc_macro": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for idx in resample_indices(len(y), n_boot, seed):
            yt, yp = y[idx], pred[idx]
            out["accuracy"].append(skm.accuracy_score(yt, yp))
            out["balanced_accuracy"].append(skm.balanced_accuracy_score(yt, yp))
            out["macro_f1"].append(skm.f1_score(yt, yp, average="macro", zero_division=0))
            if with_auc:
                aucs = [
                    skm.roc_auc_score(yt == c, p[idx, c])
                    for c in range(p.shape[1])
                    if 0 < np.sum(yt == c) < len(yt)
                ]
                out["roc_auc_macro"].append(np.mean(aucs))
    return {m: np.percentile(v, [2.5, 97.5]).tolist() for m, v in out.items() if v}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=140)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    y = rng.integers(0, args.k, args.n)
    z = 1.5 * np.eye(args.k)[y] + rng.normal(size=(args.n, args.k))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    results = {"n": args.n, "k": args.k, "n_boot": args.n_boot}
    for label, with_auc in (("counts_only", False), ("with_roc_auc", True)):
        metrics = ["accuracy", "balanced_accuracy", "macro_f1"] + (
            ["roc_auc_macro"] if with_auc else []
        )
        t0 = time.perf_counter()
        ours = bootstrap_ci(y, p, metrics=metrics, n_boot=args.n_boot, seed=args.seed)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref = sklearn_loop(y, p, args.n_boot, args.seed, with_auc)
        t_ref = time.perf_counter() - t0
        agree = all(np.allclose([ours[m].low, ours[m].high], ref[m], atol=1e-12) for m in metrics)
        results[label] = {
            "fracturenet_s": round(t_ours, 4),
            "sklearn_loop_s": round(t_ref, 4),
            "speedup": round(t_ref / t_ours, 1),
            "identical_intervals": bool(agree),
        }
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
