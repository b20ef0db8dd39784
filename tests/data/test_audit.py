"""Tests for the dataset audit (fracturenet.data.audit / audit_report / duplicates)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from fracturenet.data import AuditReport, Manifest, audit, group_duplicates
from fracturenet.data.duplicates import near_duplicate_pairs


def _xray(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A smooth random grey picture (blurred noise plus bright 'bones'), uint8 HxW."""
    rng = np.random.default_rng(seed)
    h, w = size
    img = gaussian_filter(rng.normal(0, 1, (h, w)), 6)
    for _ in range(3):
        x = rng.integers(10, w - 10)
        img[:, max(0, x - 4) : x + 4] += 2.0
    img = (img - img.min()) / (np.ptp(img) + 1e-9)
    return (img * 255).astype(np.uint8)


def make_dataset(d: Path) -> dict[str, str]:
    """Writes distinct pictures plus every kind of copy the audit must catch into ``d``."""
    paths: dict[str, str] = {}

    def save(name: str, arr: np.ndarray, **kw) -> None:
        paths[name] = str(d / name)
        Image.fromarray(arr).convert("RGB").save(paths[name], **kw)

    for k in range(6):
        save(f"orig{k}.png", _xray(k))
    shutil.copy(paths["orig0.png"], d / "bytecopy.png")
    paths["bytecopy.png"] = str(d / "bytecopy.png")
    save("resaved.bmp", np.asarray(Image.open(paths["orig1.png"])))  # same pixels, new bytes
    save("reencoded.jpg", _xray(2), quality=70)
    crop = Image.fromarray(_xray(3)).crop((2, 2, 126, 94)).resize((140, 104))
    save("recrop.png", np.asarray(crop))
    rotated = Image.fromarray(_xray(4)).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": undoes the CCW rotation above
    paths["exif.jpg"] = str(d / "exif.jpg")
    Image.fromarray(_xray(4)).convert("RGB").save(d / "plain4.jpg", quality=95)
    paths["plain4.jpg"] = str(d / "plain4.jpg")
    rotated.save(paths["exif.jpg"], quality=95, exif=exif)
    save("tiny.png", _xray(9, (20, 40)))
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("not an image")
    good = (d / "orig5.png").read_bytes()
    jpeg = d / "whole5.jpg"
    Image.open(d / "orig5.png").save(jpeg, quality=90)
    (d / "truncated.jpg").write_bytes(jpeg.read_bytes()[: len(jpeg.read_bytes()) // 3])
    jpeg.unlink()
    assert good  # orig5 itself stays a normal distinct image
    for name in ("empty.jpg", "text.jpg", "truncated.jpg"):
        paths[name] = str(d / name)
    return paths


@pytest.fixture()
def dataset(tmp_path: Path) -> dict[str, str]:
    d = tmp_path / "data"
    d.mkdir()
    return make_dataset(d)


def _manifest(paths: dict[str, str], labels=None, splits=None) -> Manifest:
    names = list(paths)
    labels = labels or {}
    splits = splits or {}
    return Manifest(
        paths=[paths[n] for n in names],
        labels=[labels.get(n, 0) for n in names],
        class_names=("a", "b"),
        splits=[splits.get(n, "train") for n in names],
        root=os.path.dirname(paths[names[0]]),
    )


def _names(report: AuditReport, clusters) -> set[frozenset[str]]:
    return {frozenset(os.path.basename(report.manifest.paths[i]) for i in c) for c in clusters}


def test_finds_every_kind_of_copy_and_nothing_else(dataset):
    report = audit(_manifest(dataset), progress=False)
    assert _names(report, report.exact_groups) == {
        frozenset({"orig0.png", "bytecopy.png"}),
        frozenset({"orig1.png", "resaved.bmp"}),
    }
    assert _names(report, report.clusters) == {
        frozenset({"orig0.png", "bytecopy.png"}),
        frozenset({"orig1.png", "resaved.bmp"}),
        frozenset({"orig2.png", "reencoded.jpg"}),
        frozenset({"orig3.png", "recrop.png"}),
        frozenset({"orig4.png", "plain4.jpg", "exif.jpg"}),
    }


def test_exif_orientation_is_applied_before_hashing(dataset):
    m = _manifest({k: dataset[k] for k in ("plain4.jpg", "exif.jpg")})
    report = audit(m, progress=False, near_threshold=0)
    assert (report.records[1].width, report.records[1].height) == (128, 96)
    assert report.near_pairs and report.near_pairs[0][2] <= 2


def test_unreadable_files_are_listed_with_reasons_not_raised(dataset):
    report = audit(_manifest(dataset), progress=False)
    reasons = {os.path.basename(p): why for p, why in report.unreadable}
    assert set(reasons) == {"empty.jpg", "text.jpg", "truncated.jpg"}
    # The audit decodes with fracturenet.data.load_image, so it gives the same reasons.
    assert reasons["empty.jpg"].startswith("zero-byte file")
    assert reasons["text.jpg"].startswith("not an image: the file holds text")
    assert "truncated" in reasons["truncated.jpg"]
    assert "unreadable files     3" in report.summary()


def test_tiny_images_and_size_stats(dataset):
    report = audit(_manifest(dataset), progress=False, min_side=32)
    assert [os.path.basename(report.manifest.paths[i]) for i in report.tiny] == ["tiny.png"]
    assert report.size_stats["width"]["min"] == 40
    assert sum(report.size_stats["aspect_bins"].values()) == len(dataset) - 3
    assert audit(_manifest(dataset), progress=False, min_side=10).tiny == []


def test_leakage_and_label_conflicts(dataset):
    m = _manifest(dataset, labels={"reencoded.jpg": 1}, splits={"bytecopy.png": "test"})
    report = audit(m, progress=False)
    assert _names(report, report.leakage) == {frozenset({"orig0.png", "bytecopy.png"})}
    assert _names(report, report.conflicts) == {frozenset({"orig2.png", "reencoded.jpg"})}
    counts = report.counts()
    assert counts["leaking_clusters"] == 1 and counts["conflicting_clusters"] == 1


def test_cleaned_manifest_keeps_one_per_cluster_and_drops_conflicts(dataset):
    m = _manifest(dataset, labels={"reencoded.jpg": 1})
    report = audit(m, progress=False)
    names = lambda mm: {os.path.basename(p) for p in mm.paths}  # noqa: E731
    dup = names(report.cleaned_manifest("duplicates"))
    assert "orig0.png" in dup and "bytecopy.png" not in dup  # same size: first one kept
    assert "recrop.png" in dup and "orig3.png" not in dup  # more pixels kept
    assert not dup & {"empty.jpg", "text.jpg", "truncated.jpg"}
    conf = names(report.cleaned_manifest("conflicts"))
    assert not conf & {"orig2.png", "reencoded.jpg"} and "bytecopy.png" in conf
    both = report.cleaned_manifest("both")
    assert len(both) == len(m) - 3 - 2 - 5  # unreadable, the conflict pair, 5 redundant copies
    with pytest.raises(ValueError, match=r"`drop` must be one of .*Received: drop='all'"):
        report.cleaned_manifest("all")


def test_groups_and_group_duplicates(dataset):
    m = _manifest(dataset)
    report = audit(m, progress=False)
    groups = report.groups()
    by_name = dict(zip((os.path.basename(p) for p in m.paths), groups, strict=True))
    assert by_name["orig4.png"] == by_name["exif.jpg"] == by_name["plain4.jpg"]
    assert by_name["orig5.png"] != by_name["orig0.png"]
    assert len(set(groups)) == len(m) - report.counts()["redundant_images"]
    assert group_duplicates(m, progress=False).groups == tuple(groups)


def test_threshold_is_settable(dataset):
    m = _manifest({k: dataset[k] for k in ("orig3.png", "recrop.png", "orig5.png")})
    assert audit(m, progress=False).clusters == [[0, 1]]
    assert audit(m, progress=False, near_threshold=0).clusters == []


def test_reports_written_and_never_overwritten(dataset, tmp_path):
    report = audit(_manifest(dataset), progress=False)
    js, page = tmp_path / "audit.json", tmp_path / "audit.html"
    report.to_json(js)
    data = json.loads(js.read_text())
    assert data["counts"]["duplicate_clusters"] == 5
    assert len(data["unreadable"]) == 3 and data["settings"]["near_threshold"] == 6
    report.to_html(page)
    text = page.read_text()
    assert text.count("data:image/jpeg;base64,") == data["counts"]["images_in_clusters"]
    for writer, path in ((report.to_json, js), (report.to_html, page)):
        before = path.read_bytes()
        with pytest.raises(FileExistsError, match="overwrite=True"):
            writer(path)
        assert path.read_bytes() == before
        writer(path, overwrite=True)


def test_audit_never_touches_user_files(dataset):
    folder = Path(next(iter(dataset.values()))).parent
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    audit(_manifest(dataset), progress=False)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    assert before == after


def test_progress_bar_goes_to_stderr(dataset, capsys):
    audit(_manifest(dataset), progress=True, workers=1)
    captured = capsys.readouterr()
    assert f"Auditing images {len(dataset)}/{len(dataset)}" in captured.err
    assert captured.out == ""


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"near_threshold": -1}, "near_threshold"),
        ({"hash_size": 1}, "hash_size"),
        ({"min_side": 2.5}, "min_side"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_arguments_name_the_argument(dataset, kwargs, name):
    with pytest.raises(ValueError, match=rf"`{name}`.*Received: {name}="):
        audit(_manifest(dataset), progress=False, **kwargs)


def test_rejects_non_manifest():
    with pytest.raises(TypeError, match="Received: manifest=list"):
        audit(["a.png"])


def test_near_duplicate_pairs_rule():
    # pHash distance 8 (beyond 6) is accepted only with a close dHash and similar histograms.
    p = ["0000000000000000", "00000000000000ff"]
    flat = [[1 / 16] * 16] * 2
    assert near_duplicate_pairs(p, ["00" * 8, "00" * 8], flat) == [(0, 1, 8, 0)]
    assert near_duplicate_pairs(p, ["00" * 8, "ff" * 8], flat) == []
    dark, bright = [1.0] + [0.0] * 15, [0.0] * 15 + [1.0]
    assert near_duplicate_pairs(p, ["00" * 8] * 2, [dark, bright]) == []
    with pytest.raises(ValueError, match="Received: len"):
        near_duplicate_pairs(p, ["00" * 8])


def _real_data() -> Path:
    env = os.environ.get("FRACTURENET_SHARED_DATA")
    root = (
        Path(env)
        if env
        else Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "bone-break"
    )
    if not root.is_dir():
        pytest.skip(f"real Bone Break data not found at {root} (set FRACTURENET_SHARED_DATA)")
    return root


@pytest.mark.realdata
@pytest.mark.slow
def test_real_bone_break_duplicates_and_conflicts():
    root = _real_data()
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files = [(str(f), k) for k, c in enumerate(classes) for f in sorted((root / c).glob("*/*.jpg"))]
    m = Manifest([f for f, _ in files], [k for _, k in files], classes, root=str(root))
    report = audit(m, progress=False)
    counts = report.counts()
    assert counts["exact_duplicate_groups"] >= 1
    assert counts["near_duplicate_pairs"] >= 50
    assert counts["conflicting_clusters"] >= 1
    assert counts["unreadable"] == 0
    # Guard against a threshold so loose that chains merge unrelated X-rays.
    assert max(len(c) for c in report.clusters) <= 5
    for group in report.exact_groups:
        recs = [report.records[i] for i in group]
        assert len({r.file_sha256 for r in recs}) == 1 or len({r.pixel_sha256 for r in recs}) == 1


def test_pixels_are_compared_as_the_model_sees_them(tmp_path):
    # A 12-bit detector image in a 16-bit PNG decodes (min..max scaled) to the same pixels
    # as its 8-bit export, so the audit must call the two exact pixel duplicates.
    low = np.zeros((40, 48), np.uint16)
    low[10:30, 12:36] = 100
    Image.fromarray(low).save(tmp_path / "a16.png")
    Image.fromarray((low > 0).astype(np.uint8) * 255).save(tmp_path / "b8.png")
    paths = [str(tmp_path / "a16.png"), str(tmp_path / "b8.png")]
    report = audit(Manifest(paths, (0, 0), ("x",)), progress=False)
    assert report.records[0].pixel_sha256 == report.records[1].pixel_sha256
    assert report.clusters == [[0, 1]]


def test_rotated_and_flipped_copies_are_paired_and_cross_split_copies_counted(tmp_path):
    # Two Bone Break Train pairs are the same X-ray turned 180 degrees by an EXIF tag; the
    # audit hashed only the upright picture and did not pair them.
    rng = np.random.default_rng(3)

    def picture():
        small = Image.fromarray(rng.integers(0, 256, (6, 5)).astype(np.uint8))
        return small.resize((60, 72), Image.BICUBIC)

    a, other = picture(), picture()
    a.save(tmp_path / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 3  # Orientation: rotate 180
    a.save(tmp_path / "a_exif180.jpg", quality=95, exif=exif)  # same pixels, turned by EXIF
    a.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "a_mirror.png")
    a.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "a_rot90.png")
    other.save(tmp_path / "other.png")
    names = ["a.png", "a_exif180.jpg", "a_mirror.png", "a_rot90.png", "other.png"]
    m = Manifest(
        [str(tmp_path / n) for n in names],
        [0, 0, 0, 0, 1],
        ("x", "y"),
        splits=["train", "test", "test", "val", "test"],
    )
    report = audit(m, progress=False)
    assert report.clusters == [[0, 1, 2, 3]] and 4 not in report.clusters[0]
    found = {(i, j): t for i, j, _, t in report.transformed_pairs}
    assert found[(0, 1)] == "rot180" and (0, 2) in found and (0, 3) in found
    assert report.counts()["rotated_or_flipped_pairs"] == len(report.transformed_pairs) >= 3
    copies = report.cross_split_copies()
    assert copies == {"val <- train": 1, "test <- train": 2, "test <- val": 2}
    assert "2 test images have a copy in train" in report.summary()
    assert report.to_dict()["cross_split_copies"] == copies


def test_truncated_copies_do_not_stop_the_html_and_every_unreadable_file_is_listed(tmp_path):
    # FracAtlas: JPEGs short of their last few bytes, some of them byte copies of each other
    # (so an exact-duplicate cluster of unreadable files); the HTML page stopped at the first.
    whole = tmp_path / "whole.jpg"
    Image.fromarray(_xray(1)).save(whole, quality=90)
    cut = whole.read_bytes()[:-20]
    names = [f"cut{k:02d}.jpg" for k in range(12)]
    for k, name in enumerate(names):
        data = cut if k < 2 else cut[:-k]  # cut00 and cut01 are byte copies
        (tmp_path / name).write_bytes(data)
    Image.fromarray(_xray(2)).save(tmp_path / "fine.png")
    paths = [str(tmp_path / n) for n in [*names, "fine.png"]]
    report = audit(Manifest(paths, [0] * 13, ("a",)), progress=False)
    assert sorted(os.path.basename(p) for p, _ in report.unreadable) == names
    assert all("truncated" in why for _, why in report.unreadable)
    assert report.exact_groups == [[0, 1]]
    summary = report.summary()
    assert all(f"unreadable: {p}" in summary for p in paths[:12])  # all, not the first 10
    page = report.to_html(tmp_path / "audit.html")
    text = Path(page).read_text()
    assert text.count("<li>") == 12 and all(n in text for n in names)
    assert text.count(">unreadable</div>") == 2  # the cluster's two files, without thumbnails
