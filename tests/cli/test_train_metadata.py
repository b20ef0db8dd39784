"""``fracturenet train --metadata CSV --stratify-by ATTR --group-by ATTR``: the split uses
the table's attributes, and a missing attribute is a usage error that names the flag."""

from __future__ import annotations

import csv
from collections import defaultdict

import numpy as np
from PIL import Image

from tests.cli.conftest import run_cli

SMALL = ["--backbone", "smallcnn_tiny", "--weights", "none", "--image-size", "16",
         "--epochs", "1", "--batch-size", "8", "--bootstrap", "20", "--precision", "float32",
         "--no-group", "-q"]  # fmt: skip


def _dataset(root):
    """40 images in 2 classes; a CSV with a 0/1 region flag pair and a patient id (2 images
    of the same patient each)."""
    rng = np.random.default_rng(0)
    rows = []
    for k in range(40):
        label = "fractured" if k % 2 else "normal"
        name = f"img{k:03d}.png"
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (16, 16), dtype=np.uint8)).save(root / label / name)
        hand = (k // 2) % 2
        rows.append({"image_id": name, "hand": hand, "leg": 1 - hand, "patient": f"p{k // 4}"})
    table = root.parent / "meta.csv"
    with open(table, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return table


def test_the_split_follows_the_tables_attributes(tmp_path, capsys):
    table = _dataset(tmp_path / "data")
    out = tmp_path / "run"
    code, stdout, err = run_cli(
        capsys, "train", tmp_path / "data", "--out", out, *SMALL, "--metadata", table,
        "--metadata-flags", "region=hand,leg", "--stratify-by", "region",
        "--group-by", "patient", "--val", "0.25", "--test", "0.25", "--json",
    )  # fmt: skip
    assert code == 0, err
    where = {}
    for split in ("train", "val", "test"):  # the run folder lists each split's files
        for line in (out / "files" / f"{split}.txt").read_text().split():
            where[line.rsplit("/", 1)[-1]] = split
    patients = defaultdict(set)
    for row in csv.DictReader(open(table)):
        patients[row["patient"]].add(where[row["image_id"]])
    assert all(len(s) == 1 for s in patients.values()), patients  # never straddles
    assert "stratify_by" in (out / "run.toml").read_text()


def test_an_attribute_the_data_lacks_names_the_flag(tmp_path, capsys):
    _dataset(tmp_path / "data")
    code, _, err = run_cli(capsys, "train", tmp_path / "data", "--out", tmp_path / "run",
                           *SMALL, "--stratify-by", "region")  # fmt: skip
    assert code != 0
    assert "No attribute 'region'" in err and "--metadata" in err
    assert "Traceback" not in err
