#!/usr/bin/env python3
"""Benchmark: peak memory of decoding huge images (issue 14: four 9999 x 9999 PNGs).

Writes ``--count`` constant PNGs of ``--side`` x ``--side`` pixels (a few kB each on disk, just
under the 100-megapixel guard at the default side) into two class folders, then runs each
workload in a fresh Python process and reports that process's peak resident memory (RSS):

* ``audit``: ``python -m fracturenet audit DIR`` (full decode: it hashes every pixel);
* ``make_dataset``: one epoch of :func:`fracturenet.data.make_dataset` at 224 px with
  ``on_error="skip"`` (decoded reduced where the format allows, see ``load_resized``);
* ``baseline``: the same ``make_dataset`` epoch over four 64 px images, i.e. what importing
  TensorFlow and building the pipeline costs before any huge image is decoded.

and, for each, which images were decoded and which were refused (with the reason). The goal of
issue 14 is a peak under 1 GB for every workload. Prints one JSON object.

    PYTHONPATH=src python benchmarks/decode_memory.py [--side 9999] [--count 4] [--mode L RGB]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

_DATASET = r"""
import json, resource, sys, warnings
from fracturenet.data import discover, make_dataset, skipped_files
ds = make_dataset(discover(sys.argv[1]), image_size=224, batch_size=2, on_error="skip")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    n = sum(int(x.shape[0]) for x, _ in ds)
print(json.dumps({"decoded": n, "refused": [r for _, r in skipped_files(ds)],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_AUDIT = r"""
import json, resource, subprocess, sys
from fracturenet.cli import main
try:
    code = main(["audit", sys.argv[1], "--json"])
except SystemExit as e:
    code = e.code
print(json.dumps({"exit": code,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _write(folder: str, count: int, side: int, mode: str) -> None:
    from PIL import Image

    image = Image.new(mode, (side, side), 40)  # constant: a few kB as PNG
    for i in range(count):
        cls = os.path.join(folder, "ab"[i % 2])
        os.makedirs(cls, exist_ok=True)
        image.save(os.path.join(cls, f"huge{i}.png"))


def _run(code: str, folder: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code, folder], capture_output=True, text=True, check=False
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith('{"')]
    if not lines:
        return {"error": (out.stderr or out.stdout)[-800:]}
    result = json.loads(lines[-1])
    if '"exit"' in lines[-1]:  # the audit's JSON report is the line before ours
        report = json.loads(out.stdout[: out.stdout.rindex(lines[-1])] or "{}")
        refused = report.get("unreadable", [])
        result["refused"] = [r["reason"] if isinstance(r, dict) else r[-1] for r in refused]
    result["peak_rss_mb"] = round(result["peak_rss_mb"])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--side", type=int, default=9999)
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--mode", nargs="+", default=["L", "RGB"], help="Pillow modes to write")
    a = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    res: dict = {"side": a.side, "count": a.count, "load_avg_1min": os.getloadavg()[0]}
    root = tempfile.mkdtemp(prefix="fracturenet-bench-huge-")
    try:
        small = os.path.join(root, "small")
        _write(small, 4, 64, "RGB")
        res["baseline"] = _run(_DATASET, small)
        for mode in a.mode:
            folder = os.path.join(root, mode)
            _write(folder, a.count, a.side, mode)
            res[mode] = {"audit": _run(_AUDIT, folder), "make_dataset": _run(_DATASET, folder)}
    finally:
        shutil.rmtree(root)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
