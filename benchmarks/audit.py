"""Benchmark: dataset audit of the real Bone Break Train split.

Prints JSON: wall time and images/s of ``audit`` with the default thread pool, next to the same
audit with one worker (baseline, same run), and the headline findings.

Usage:
    FRACTURENET_SHARED_DATA=/path/to/bone-break python benchmarks/audit.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from fracturenet.data import Manifest, audit


def _manifest(root: Path) -> Manifest:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(str(f), k) for k, c in enumerate(classes) for f in sorted((root / c).glob("*/*.jpg"))]
    return Manifest([f for f, _ in files], [k for _, k in files], classes, root=str(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "FRACTURENET_SHARED_DATA",
        str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bone-break"),
    )
    parser.add_argument("--data", default=default)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    m = _manifest(Path(args.data))
    results = {}
    for name, workers in (("one_worker", 1), ("default_pool", None)):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            report = audit(m, workers=workers, progress=False)
            times.append(time.perf_counter() - t0)
        best = min(times)
        results[name] = {
            "workers": report.settings["workers"],
            "seconds_best": round(best, 2),
            "seconds_all": [round(t, 2) for t in times],
            "images_per_s": round(len(m) / best, 1),
        }
    print(
        json.dumps(
            {
                "images": len(m),
                "cpu_count": os.cpu_count(),
                **results,
                "speedup_pool_vs_one_worker": round(
                    results["one_worker"]["seconds_best"] / results["default_pool"]["seconds_best"],
                    2,
                ),
                "counts": report.counts(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
