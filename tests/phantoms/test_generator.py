"""Tests of the synthetic phantom generator (``fracturenet.phantoms``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fracturenet.data.manifest import Manifest
from fracturenet.exceptions import DatasetError
from fracturenet.phantoms.generator import (
    NO_FRACTURE,
    PHANTOM_CLASSES,
    load_fracture_mask,
    make_synthetic_fractures,
    render_phantom,
)

STAMP = ".fracturenet-synthetic.json"
SMALL = {"images_per_class": 4, "image_size": 32}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != STAMP
    }


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory) -> tuple[Path, Manifest]:
    root = tmp_path_factory.mktemp("phantoms") / "data"
    return root, make_synthetic_fractures(root, include_normal=True, seed=5, **SMALL)


def test_layout_counts_and_manifest(phantoms):
    root, m = phantoms
    assert m.class_names == tuple(sorted(PHANTOM_CLASSES))
    assert m.root == str(root)
    assert m.class_counts() == dict.fromkeys(m.class_names, 4)
    for cls in PHANTOM_CLASSES:
        assert sorted(os.listdir(root / cls)) == ["Test", "Train"]
        assert len(os.listdir(root / cls / "Train")) == 3
        assert len(os.listdir(root / cls / "Test")) == 1
    assert sorted(set(m.splits)) == ["test", "train"]
    for path, label, split in zip(m.paths, m.labels, m.splits, strict=True):
        p = Path(path)
        assert p.is_absolute() and p.is_file() and p.suffix == ".png"
        assert p.parent.parent.name == m.class_names[label]
        assert p.parent.name == split.capitalize()
        with Image.open(p) as im:
            assert (im.mode, im.size) == ("L", (32, 32))
    # only the images are visible; masks and stamp are hidden
    visible = [p for p in root.rglob("*.png") if not any(s.startswith(".") for s in p.parts)]
    assert len(visible) == len(m) == 36
    stamp = json.loads((root / STAMP).read_text())
    assert stamp["arguments"]["seed"] == 5 and stamp["complete"] is True
    assert "version" in stamp and len(stamp["files"]) == 2 * len(m)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    kw = {"classes": ["spiral", "Avulsion fracture"], "images_per_class": 3, "image_size": 32}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        make_synthetic_fractures(tmp_path / name, seed=seed, **kw)
    a, b, c = (_files(tmp_path / name) for name in "abc")
    assert a == b and len(a) == 12
    assert a.keys() == c.keys()
    images = [k for k in a if not k.startswith(".")]
    assert all(a[k] != c[k] for k in images)


def test_class_images_do_not_depend_on_other_classes(tmp_path):
    make_synthetic_fractures(tmp_path / "one", classes=["spiral"], **SMALL)
    make_synthetic_fractures(tmp_path / "two", classes=["oblique", "spiral"], **SMALL)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert all(two[k] == v for k, v in one.items())


def test_reuse_with_identical_arguments_writes_nothing(phantoms):
    root, m = phantoms
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    again = make_synthetic_fractures(root, include_normal=True, seed=5, **SMALL)
    # same arguments spelled differently (class list, short keys) count as identical
    same = make_synthetic_fractures(
        root, classes=[k.split()[0].lower() for k in PHANTOM_CLASSES[:-1]] + ["normal"],
        seed=5, **SMALL,
    )  # fmt: skip
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    assert again == m == same
    assert before == after


def test_incomplete_folder_is_completed(tmp_path):
    root = tmp_path / "d"
    make_synthetic_fractures(root, classes=["impacted"], **SMALL)
    reference = _files(root)
    next(root.glob("Impacted fracture/Train/*.png")).unlink()
    make_synthetic_fractures(root, classes=["impacted"], **SMALL)
    assert _files(root) == reference


def test_refuses_foreign_non_empty_folder_even_with_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(DatasetError, match="not empty and has no phantom stamp"):
            make_synthetic_fractures(tmp_path, overwrite=overwrite, **SMALL)
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]


def test_other_arguments_need_overwrite_which_removes_only_generated_files(tmp_path):
    root = tmp_path / "d"
    make_synthetic_fractures(root, classes=["hairline", "greenstick"], **SMALL)
    with pytest.raises(DatasetError, match="other arguments.*overwrite=True"):
        make_synthetic_fractures(root, classes=["hairline"], **SMALL)
    foreign = root / "Hairline Fracture" / "Train" / "mine.jpg"
    foreign.write_bytes(b"user data")
    with pytest.raises(DatasetError, match="did not write"):
        make_synthetic_fractures(root, classes=["hairline"], overwrite=True, **SMALL)
    assert foreign.read_bytes() == b"user data"
    assert len(list(root.rglob("*.png"))) == 16  # nothing was deleted
    foreign.unlink()
    m = make_synthetic_fractures(root, classes=["hairline"], overwrite=True, **SMALL)
    assert m.class_names == ("Hairline Fracture",)
    assert sorted(os.listdir(root)) == [
        ".fracturenet-synthetic.json",
        ".masks",
        "Hairline Fracture",
    ]


def test_tampered_stamp_cannot_delete_outside_root(tmp_path):
    root = tmp_path / "d"
    make_synthetic_fractures(root, classes=["oblique"], **SMALL)
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"keep")
    stamp = json.loads((root / STAMP).read_text())
    stamp["files"]["../victim.png"] = 4
    (root / STAMP).write_text(json.dumps(stamp))
    with pytest.raises(DatasetError, match="not one this generator wrote"):
        make_synthetic_fractures(root, classes=["spiral"], overwrite=True, **SMALL)
    assert victim.read_bytes() == b"keep"


@pytest.mark.parametrize("cls", PHANTOM_CLASSES)
def test_render_phantom_mask(cls):
    image, mask = render_phantom(cls, image_size=64, seed=2)
    assert image.shape == mask.shape == (64, 64)
    assert image.dtype == np.uint8 and mask.dtype == bool
    if cls == NO_FRACTURE:
        assert not mask.any()
    else:
        # a fracture region, small compared with the image, lying on the (bright) bone
        assert 0 < mask.sum() < 0.25 * mask.size
        assert image[mask].mean() > np.median(image)


@pytest.mark.parametrize("size", [32, 64, 128])
@pytest.mark.parametrize("cls", ["Avulsion fracture", "Hairline Fracture"])
def test_mask_holds_every_change_a_local_fracture_makes(cls, size):
    # One seed draws the same bone, pose and noise for every class: the pair differs only
    # by the fracture, so a local pattern must change pixels inside its mask and nowhere else.
    for seed in range(3):
        broken, mask = render_phantom(cls, image_size=size, seed=seed)
        intact, none = render_phantom(NO_FRACTURE, image_size=size, seed=seed)
        diff = np.abs(broken.astype(int) - intact)
        assert not none.any()
        assert diff[mask].max() > 20
        assert not (diff[~mask] > 10).any()


@pytest.mark.parametrize("cls", PHANTOM_CLASSES[:-1])
def test_fracture_changes_concentrate_in_the_mask(cls):
    for seed in range(3):
        broken, mask = render_phantom(cls, image_size=64, seed=seed)
        intact, _ = render_phantom(NO_FRACTURE, image_size=64, seed=seed)
        diff = np.abs(broken.astype(float) - intact)
        assert diff[mask].mean() > 2 * diff[~mask].mean()


def test_render_phantom_is_deterministic_per_seed():
    a, _ = render_phantom("comminuted", image_size=48, seed=7)
    b, _ = render_phantom("Comminuted fracture", image_size=48, seed=7)
    c, _ = render_phantom("comminuted", image_size=48, seed=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_load_fracture_mask_round_trip(phantoms):
    root, m = phantoms
    for path, label in zip(m.paths, m.labels, strict=True):
        rel = Path(path).relative_to(root)
        with Image.open(root / ".masks" / rel) as im:
            stored = np.asarray(im.convert("L")) > 0
        mask = load_fracture_mask(path)
        assert mask.dtype == bool and mask.shape == (32, 32)
        assert np.array_equal(mask, stored)
        assert mask.any() == (m.class_names[label] != NO_FRACTURE)


def test_load_fracture_mask_of_a_foreign_image_raises(tmp_path):
    path = tmp_path / "Spiral Fracture" / "Train" / "x.png"
    with pytest.raises(DatasetError, match=r"No fracture mask .*Received: image_path="):
        load_fracture_mask(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classes": ["Spiral Fracture", "Stress fracture"]}, "Transverse fracture"),
        ({"classes": "spiral"}, "non-empty list"),
        ({"classes": []}, "non-empty list"),
        ({"classes": ["spiral", "Spiral Fracture"]}, "more than once"),
        ({"images_per_class": 1}, "images_per_class=1"),
        ({"images_per_class": True}, "images_per_class=True"),
        ({"test_fraction": 0.0}, "test_fraction=0.0"),
        ({"test_fraction": 1}, "test_fraction=1"),
        ({"test_fraction": -0.2}, "test_fraction=-0.2"),
        ({"test_fraction": "0.3"}, "strictly between 0 and 1"),
        ({"image_size": 16}, "image_size=16"),
        ({"seed": -1}, "seed=-1"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(DatasetError, match=match):
        make_synthetic_fractures(tmp_path / "d", **{**SMALL, **kwargs})
    assert not (tmp_path / "d").exists()


def test_bad_render_arguments_and_file_root(tmp_path):
    with pytest.raises(DatasetError, match=r"Accepted values: \[.*Avulsion fracture"):
        render_phantom("Pathological fracture")
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="is a file"):
        make_synthetic_fractures(tmp_path / "file", **SMALL)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**40),
    size=st.integers(min_value=32, max_value=80),
    cls=st.sampled_from(PHANTOM_CLASSES),
)
def test_any_seed_and_size_gives_uint8_image_of_that_size(seed, size, cls):
    image, mask = render_phantom(cls, image_size=size, seed=seed)
    assert image.dtype == np.uint8 and image.shape == (size, size)
    assert mask.dtype == bool and mask.shape == (size, size)
    assert image.max() > image.min()  # never a blank frame


def test_generator_does_not_import_tensorflow():
    code = (
        "import sys, tempfile\n"
        "from fracturenet.phantoms import make_synthetic_fractures\n"
        "make_synthetic_fractures(tempfile.mkdtemp(), classes=['spiral'], images_per_class=2,"
        " image_size=32)\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
