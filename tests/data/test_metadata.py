"""Metadata as data: a CSV beside the images joined by file name (fracturenet.data.metadata)."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from fracturenet.data import discover, group_kfold, join_metadata, train_val_test_split
from fracturenet.exceptions import DatasetError

REGIONS = ("hand", "leg", "hip")


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    """``Broken/`` and ``Whole/`` (1 in 4 broken) and a dataset.csv in the FracAtlas style:
    0/1 region flags, a ``study`` column, the label again, and one row that contradicts the
    folder (``IMG003.png`` sits in ``Broken/`` but says ``broken=0``)."""
    root = tmp_path / "data"
    rows = ["image_id,hand,leg,hip,study,broken"]
    for k in range(40):
        cls = "Broken" if k % 4 == 0 else "Whole"
        (root / "images" / cls).mkdir(parents=True, exist_ok=True)
        Image.new("L", (8, 8), k).save(root / "images" / cls / f"IMG{k:03d}.png")
        region = REGIONS[k % 3]
        flags = ",".join("1" if r == region else "0" for r in REGIONS)
        label = int(cls == "Broken") if k != 3 else 0
        rows.append(f"IMG{k:03d}.png,{flags},s{k // 2},{label}")
    (root / "images" / "Broken" / "IMG003.png").write_bytes(
        (root / "images" / "Whole" / "IMG003.png").read_bytes()
    )
    (root / "images" / "Whole" / "IMG003.png").unlink()
    rows.append("IMG999.png,1,0,0,s99,0")  # a row without an image
    (root / "dataset.csv").write_text("\n".join(rows) + "\n")
    return root


def _join(folder: Path, **kw):
    m = discover(folder / "images")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = join_metadata(
            m,
            folder / "dataset.csv",
            label_column="broken",
            label_values={"1": "Broken", "0": "Whole"},
            categories={"region": REGIONS},
            **kw,
        )
    return m, out, [str(w.message) for w in caught]


def test_columns_become_attributes_joined_by_file_name(folder):
    m, j, _ = _join(folder)
    name = lambda p: Path(p).name  # noqa: E731
    for i, p in enumerate(j.paths):
        k = int(name(p)[3:6])
        assert j.attributes["region"][i] == REGIONS[k % 3]
        assert j.attributes["study"][i] == f"s{k // 2}"
        assert j.attributes["hand"][i] == ("1" if k % 3 == 0 else "0")
    assert "broken" not in j.attributes and "image_id" not in j.attributes
    assert (
        discover(folder / "images", metadata=folder / "dataset.csv").attributes["study"]
        == (j.attributes["study"])
    )
    # select() keeps attributes aligned with their images
    sub = j.select([5, 1])
    assert sub.attributes["study"] == (j.attributes["study"][5], j.attributes["study"][1])


def test_label_conflict_is_reported_and_the_user_chooses_which_wins(folder):
    m, j, messages = _join(folder)
    conflict = [c for c in j.label_conflicts]
    assert [(Path(p).name, a, b) for p, a, b in conflict] == [("IMG003.png", "Broken", "Whole")]
    assert any("IMG003.png: Broken (layout) vs Whole (metadata)" in s for s in messages)
    i = j.paths.index(conflict[0][0])
    assert j.labels == m.labels and j.class_names[j.labels[i]] == "Broken"  # layout wins
    _, flipped, _ = _join(folder, labels_from="metadata")
    assert flipped.class_names[flipped.labels[i]] == "Whole"
    assert sum(a != b for a, b in zip(flipped.labels, m.labels, strict=True)) == 1
    with pytest.raises(ValueError, match="Received: labels_from='csv'"):
        _join(folder, labels_from="csv")


def test_unmatched_rows_and_images_are_counted(folder):
    (folder / "images" / "Whole" / "IMG100.png").write_bytes(b"")  # an image without a row
    m, j, messages = _join(folder)
    i = [Path(p).name for p in j.paths].index("IMG100.png")
    assert j.attributes["region"][i] is None and j.attributes["study"][i] is None
    assert any(
        "1 of 41 images have no row" in s and "1 row(s) match no image" in s for s in messages
    )


def test_errors_name_the_column_and_the_fix(folder):
    m = discover(folder / "images")
    with pytest.raises(DatasetError, match=r"no column\(s\) \['nope'\].*Received: 'nope'"):
        join_metadata(m, folder / "dataset.csv", on="nope")
    with pytest.raises(DatasetError, match=r"value\(s\) \['0', '1'\].*label_values"):
        join_metadata(m, folder / "dataset.csv", label_column="broken")
    (folder / "twice.csv").write_text("image_id,x\nIMG000.png,1\nIMG000.png,2\n")
    with pytest.raises(DatasetError, match="two rows for 'IMG000.png'"):
        join_metadata(m, folder / "twice.csv")
    (folder / "none.csv").write_text("name,x\nfoo.png,1\n")
    with pytest.raises(DatasetError, match="No column of the metadata CSV holds"):
        join_metadata(m, folder / "none.csv")
    with pytest.raises(DatasetError, match="Cannot read the metadata CSV"):
        join_metadata(m, folder / "absent.csv")
    with pytest.raises(DatasetError, match="no attribute 'region'.*Received: name='region'"):
        m.attribute("region")


def test_attributes_round_trip_through_a_csv_manifest(folder, tmp_path):
    _, j, _ = _join(folder)
    out = j.to_csv(tmp_path / "manifest.csv")
    back = discover(out)
    assert back.attributes == j.attributes and back.paths == j.paths


def test_splits_stratify_by_an_attribute_and_group_by_another(folder):
    _, j, _ = _join(folder)
    s = train_val_test_split(j, val=0.25, test=0.25, groups="study", stratify_by="region", seed=1)
    study_split = {}
    for st, sp in zip(j.attributes["study"], s.splits, strict=True):
        assert study_split.setdefault(st, sp) == sp  # a study never straddles splits
    for split in ("train", "val", "test"):
        idx = [i for i, x in enumerate(s.splits) if x == split]
        regions = Counter(j.attributes["region"][i] for i in idx)
        assert set(regions) == set(REGIONS), (split, regions)  # every region in every split
    folds = group_kfold(j, k=3, groups=("study", "manifest"), stratify_by="region")
    for train, val in folds:
        assert not {*train.attributes["study"]} & {*val.attributes["study"]}
        assert {*val.attributes["region"]} == set(REGIONS)
    with pytest.raises(ValueError, match=r"an attribute of the manifest .*Received: groups='pat'"):
        train_val_test_split(j, groups="pat")
    with pytest.raises(DatasetError, match="no attribute 'side'"):
        train_val_test_split(j, groups=None, stratify_by="side")


@pytest.mark.parametrize("seed", range(4))
def test_a_rare_stratum_reaches_every_split(seed):
    # Three hip images of 60: stratifying by region puts one in each split; by label alone
    # they land together more often than not (planted-fault check: each seed fails then
    # with probability about 0.8).
    from fracturenet.data import Manifest

    region = ["hip" if i in (0, 10, 20) else ("hand" if i % 2 else "leg") for i in range(60)]
    m = Manifest([f"/d/{i}.png" for i in range(60)], [i % 2 for i in range(60)], ("a", "b"))
    m = m.with_attributes(region=region)
    s = train_val_test_split(m, val=0.25, test=0.25, groups=None, stratify_by="region", seed=seed)
    assert sorted(s.splits[i] for i in (0, 10, 20)) == ["test", "train", "val"]
