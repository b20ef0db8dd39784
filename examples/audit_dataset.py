"""Audit a dataset for duplicates, leakage between splits, label conflicts and bad files.

Without ``--data`` the example builds a small phantom dataset and plants the problems real
collections have (the Bone Break Train split has 3 exact-duplicate groups and 111
near-duplicate clusters): a file copied from Train into Test, re-encoded and resized copies,
and a copy filed under another class. The audit finds them; the fix is to split by duplicate
cluster (``groups="auto"``) or to drop the redundant copies. The audit only reads the
dataset; everything it writes goes to ``--out``.

Run: ``python examples/audit_dataset.py [--data FOLDER] [--quick] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from fracturenet.data import audit, discover, load_image  # noqa: E402
from fracturenet.phantoms import make_synthetic_fractures  # noqa: E402


def leaky_phantoms(out: Path, images_per_class: int) -> Path:
    """Writes phantoms into ``out/dataset`` with planted duplicates; returns the folder."""
    source = make_synthetic_fractures(
        out / "phantoms", images_per_class=images_per_class, image_size=96, include_normal=False
    )
    root = out / "dataset"
    shutil.copytree(out / "phantoms", root, ignore=shutil.ignore_patterns(".*"))
    train = [
        Path(root, *Path(p).relative_to(out / "phantoms").parts)
        for p, s in zip(source.paths, source.splits, strict=True)
        if s == "train"
    ]
    a, b, c, d = train[0], train[images_per_class], train[2 * images_per_class], train[1]
    # 1. exact copy of a training image in the same class's Test folder (leak)
    shutil.copy(a, a.parent.parent / "Test" / f"copy_of_{a.name}")
    # 2. re-encoded, slightly resized copy in Test (near-duplicate leak)
    Image.open(b).resize((90, 90)).save(
        b.parent.parent / "Test" / f"resaved_{b.stem}.jpg", quality=80
    )
    # 3. the same X-ray filed under another class (label conflict)
    other = next(p for p in sorted(root.iterdir()) if p.is_dir() and p != c.parent.parent)
    shutil.copy(c, other / "Train" / f"mislabelled_{c.name}")
    # 4. a near-duplicate inside Train (redundant, inflates one pattern's weight)
    Image.open(d).resize((92, 92)).save(d.parent / f"resaved_{d.stem}.png")
    return root


def plot_clusters(report, path: Path, max_clusters: int = 6) -> None:
    """One row per duplicate cluster: each image with its class and split."""
    clusters = sorted(report.clusters, key=len, reverse=True)[:max_clusters]
    if not clusters:
        return
    width = max(len(c) for c in clusters)
    fig, axes = plt.subplots(
        len(clusters), width, figsize=(2.2 * width, 2.4 * len(clusters)), squeeze=False
    )
    m = report.manifest
    leaking = {tuple(c) for c in report.leakage}
    conflicting = {tuple(c) for c in report.conflicts}
    for row, cluster in zip(axes, clusters, strict=True):
        flag = " ".join(
            n for n, s in (("LEAK", leaking), ("CONFLICT", conflicting)) if tuple(cluster) in s
        )
        for ax, i in zip(row, [*cluster, *[None] * (width - len(cluster))], strict=True):
            ax.axis("off")
            if i is None:
                continue
            ax.imshow(load_image(m.paths[i]))
            ax.set_title(f"{m.class_names[m.labels[i]][:18]}\n{m.splits[i]} {flag}", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="dataset folder or CSV (default: phantoms with planted copies)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer images (a smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="new output folder")
    args = parser.parse_args()
    out = args.out or Path("fracturenet-runs") / f"audit_dataset-{time.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and any(out.iterdir()):
        parser.error(f"--out {out} exists and is not empty; choose a new folder")
    if args.data is not None and not args.data.exists():
        parser.error(f"--data {args.data} does not exist")
    out.mkdir(parents=True, exist_ok=True)

    folder = args.data or leaky_phantoms(out, images_per_class=4 if args.quick else 12)
    manifest = discover(folder)
    report = audit(manifest, progress=False)
    print(report.summary())
    report.to_json(out / "audit.json")
    report.to_html(out / "audit.html")
    plot_clusters(report, out / "duplicate_clusters.png")

    # The fixes: keep clusters whole when splitting, or drop the redundant/contradictory copies.
    grouped = manifest.with_groups(report.groups())
    cleaned = report.cleaned_manifest(drop="both")
    print(
        f"{len(set(grouped.groups))} groups for {len(grouped)} images: split with "
        "train_val_test_split(manifest, groups='auto') or group_kfold(...) to keep them whole"
    )
    print(f"cleaned_manifest(drop='both'): {len(manifest)} -> {len(cleaned)} images")
    print("outputs:", out)


if __name__ == "__main__":
    main()
