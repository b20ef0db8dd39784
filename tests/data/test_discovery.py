"""discover(): every layout, ignored-file counts, CSV manifests and each error message."""

from __future__ import annotations

from pathlib import Path

import pytest

from fracturenet.data import Manifest, discover, normalise_split, read_csv_manifest
from fracturenet.exceptions import DatasetError
from tests.data.conftest import write_image


def _bone_break(root: Path) -> Path:
    write_image(root / "Spiral Fracture" / "Train" / "a.jpg")
    write_image(root / "Spiral Fracture" / "Test" / "b.jpg")
    write_image(root / "avulsion fracture" / "Train" / "c.png")
    write_image(root / "avulsion fracture" / "Valid" / "d.png")
    return root


def test_bone_break_layout_splits_and_sorted_classes(tmp_path):
    m = discover(_bone_break(tmp_path))
    assert m.class_names == ("Spiral Fracture", "avulsion fracture")  # plain sorted(), as Keras
    by_name = {
        Path(p).name: (m.class_names[y], s)
        for p, y, s in zip(m.paths, m.labels, m.splits, strict=True)
    }
    assert by_name == {
        "a.jpg": ("Spiral Fracture", "train"),
        "b.jpg": ("Spiral Fracture", "test"),
        "c.png": ("avulsion fracture", "train"),
        "d.png": ("avulsion fracture", "val"),
    }
    assert all(Path(p).is_absolute() for p in m.paths)
    assert m.ignored == {}


def test_doubly_nested_download_is_unwrapped(tmp_path):
    inner = tmp_path / "Bone Break Classification" / "Bone Break Classification"
    _bone_break(inner)
    m = discover(tmp_path)
    assert len(m) == 4 and m.root == str(inner)


def test_flat_layout_has_no_splits(tmp_path):
    write_image(tmp_path / "A" / "1.jpg")
    write_image(tmp_path / "B" / "sub" / "2.bmp")  # nested folders inside a class count
    m = discover(tmp_path)
    assert m.class_names == ("A", "B") and m.labels == (0, 1) and m.splits == (None, None)


@pytest.mark.parametrize("names", [("TRAIN", "Validation", "test"), ("train", "valid", "Test")])
def test_split_first_layout_case_insensitive(tmp_path, names):
    for split in names:
        for cls in ("Oblique", "Greenstick"):
            write_image(tmp_path / split / cls / f"{split}.jpg")
    m = discover(tmp_path)
    assert m.class_names == ("Greenstick", "Oblique")
    assert sorted(m.split_names()) == ["test", "train", "val"]
    assert m.subset("val").class_counts() == {"Greenstick": 1, "Oblique": 1}


def test_hidden_and_non_image_files_are_counted(tmp_path):
    _bone_break(tmp_path)
    (tmp_path / "Spiral Fracture" / "Train" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "Spiral Fracture" / "Train" / "notes.txt").write_text("hi")
    write_image(tmp_path / "Spiral Fracture" / "Train" / ".hidden" / "x.jpg")
    write_image(tmp_path / ".cache" / "Train" / "y.jpg")
    (tmp_path / "README.md").write_text("about")
    m = discover(tmp_path)
    assert len(m) == 4
    assert m.ignored == {"hidden": 3, "not an image": 2}


def test_unicode_and_space_names(tmp_path):
    write_image(tmp_path / "Fractura oblícua" / "radiografía 1.jpg")
    write_image(tmp_path / "骨折 spiral" / "image (2).png")
    m = discover(tmp_path)
    assert m.class_names == ("Fractura oblícua", "骨折 spiral")
    assert Path(m.paths[0]).name == "radiografía 1.jpg"


def test_extensionless_dicom_is_recognised(tmp_path):
    write_image(tmp_path / "A" / "1.jpg")
    (tmp_path / "B").mkdir()
    (tmp_path / "B" / "IM0001").write_bytes(b"\0" * 128 + b"DICM" + b"\0" * 16)
    (tmp_path / "B" / "LICENSE").write_text("text")
    m = discover(tmp_path)
    assert [Path(p).name for p in m.paths] == ["1.jpg", "IM0001"]
    assert m.ignored == {"not an image": 1}


def test_missing_path(tmp_path):
    with pytest.raises(DatasetError, match=r"does not exist.*Received: path="):
        discover(tmp_path / "nope")


def test_no_images(tmp_path):
    (tmp_path / "A").mkdir()
    (tmp_path / "A" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="holds no images"):
        discover(tmp_path)
    with pytest.raises(DatasetError, match=r"No images found.*not an image"):
        discover(tmp_path, on_empty="skip")


def test_single_class(tmp_path):
    write_image(tmp_path / "Only" / "Train" / "a.jpg")
    with pytest.raises(DatasetError, match=r"single class 'Only'.*at least two"):
        discover(tmp_path)


def test_empty_class_folder_is_named_or_skipped(tmp_path):
    _bone_break(tmp_path)
    (tmp_path / "Hairline Fracture" / "Train").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"Class folder 'Hairline Fracture' holds no images"):
        discover(tmp_path)
    m = discover(tmp_path, on_empty="skip")
    assert "Hairline Fracture" not in m.class_names
    assert m.ignored == {"empty class folder": 1}


def test_mixed_split_and_class_folders(tmp_path):
    write_image(tmp_path / "train" / "A" / "a.jpg")
    write_image(tmp_path / "B" / "b.jpg")
    with pytest.raises(DatasetError, match=r"mixes split folders \['train'\]"):
        discover(tmp_path)


def test_bad_on_empty():
    with pytest.raises(ValueError, match=r"one of \('raise', 'skip'\). Received: on_empty='x'"):
        discover(".", on_empty="x")


def test_normalise_split():
    assert [normalise_split(s) for s in ("Training", "DEV", "Testing", "x")] == [
        "train",
        "val",
        "test",
        None,
    ]


# ---- CSV manifests -------------------------------------------------------------------


def test_csv_manifest_relative_paths_splits_groups(tmp_path):
    write_image(tmp_path / "img" / "a.jpg")
    write_image(tmp_path / "img" / "b c.png")
    absolute = write_image(tmp_path / "elsewhere" / "d.jpg")
    csv = tmp_path / "m.csv"
    csv.write_text(
        f'Path,Label,Split,Group\nimg/a.jpg,Oblique,Train,p1\n"img/b c.png",Spiral,VALID,\n'
        f"{absolute},Oblique,,p2\n",
        encoding="utf-8",
    )
    m = discover(csv)
    assert m.class_names == ("Oblique", "Spiral") and m.labels == (0, 1, 0)
    assert m.splits == ("train", "val", None) and m.groups == ("p1", None, "p2")
    assert m.paths[1] == str(tmp_path / "img" / "b c.png")


def test_csv_roundtrip_with_manifest_to_csv(tmp_path):
    m = discover(_bone_break(tmp_path / "data"))
    out = m.to_csv(tmp_path / "data" / "manifest.csv")
    back = discover(out)
    assert (back.paths, back.labels, back.class_names, back.splits) == (
        m.paths,
        m.labels,
        m.class_names,
        m.splits,
    )


def test_csv_missing_columns(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("file,class\na.jpg,x\n")
    with pytest.raises(DatasetError, match=r"lacks column\(s\) \['path', 'label'\]"):
        discover(csv)


def test_csv_unknown_file_is_named(tmp_path):
    write_image(tmp_path / "a.jpg")
    csv = tmp_path / "m.csv"
    csv.write_text("path,label\na.jpg,x\nmissing.jpg,y\n")
    with pytest.raises(DatasetError, match=r"1 file\(s\) that do not exist.*line 3: 'missing.jpg'"):
        read_csv_manifest(csv)


def test_csv_bad_split_and_single_class(tmp_path):
    write_image(tmp_path / "a.jpg")
    write_image(tmp_path / "b.jpg")
    csv = tmp_path / "m.csv"
    csv.write_text("path,label,split\na.jpg,x,holdout\nb.jpg,y,train\n")
    with pytest.raises(DatasetError, match=r"unknown split value.*'holdout'"):
        discover(csv)
    csv.write_text("path,label\na.jpg,x\nb.jpg,x\n")
    with pytest.raises(DatasetError, match="single class 'x'"):
        discover(csv)


def test_non_csv_file(tmp_path):
    f = write_image(tmp_path / "a.jpg")
    with pytest.raises(DatasetError, match="not a .csv manifest"):
        discover(f)


@pytest.mark.realdata
def test_real_bone_break_folder(real_data):
    m = discover(real_data)
    assert isinstance(m, Manifest)
    assert len(m) == 989 and m.num_classes == 10
    assert m.split_names() == ["train"]
    assert m.class_counts()["Avulsion fracture"] == 109
    assert list(m.class_names) == sorted(m.class_names)


def test_importing_the_data_layer_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, fracturenet.data; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_folder_without_splits_beside_class_folders_with_splits_is_not_a_class(tmp_path):
    _bone_break(tmp_path)
    write_image(tmp_path / "results" / "plot.png")
    (tmp_path / "Spiral Fracture" / "Train" / "notes.txt").write_text("hi")
    (tmp_path / ".DS_Store").write_bytes(b"x")
    m = discover(tmp_path)
    assert m.class_names == ("Spiral Fracture", "avulsion fracture") and len(m) == 4
    reasons = {Path(p).name: r for p, r in m.ignored_files}
    assert reasons == {
        "results": "folder without split folders beside class folders with them",
        "notes.txt": "not an image",
        ".DS_Store": "hidden",
    }
    assert sum(m.ignored.values()) == len(m.ignored_files) == 3


def test_audit_lists_every_file_discovery_passed_over(tmp_path, capsys):
    from fracturenet.cli import main

    _bone_break(tmp_path)
    write_image(tmp_path / "results" / "plot.png")
    (tmp_path / "README.md").write_text("about")
    assert main(["audit", str(tmp_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "Passed over by discovery (2):" in out
    assert f"  not an image: {tmp_path / 'README.md'}" in out
    assert f"folder without split folders beside class folders with them: {tmp_path / 'results'}" in out


def test_csv_integer_labels_sort_numerically(tmp_path):
    # "10" must come after "2": sorting integer labels as strings renumbers the classes.
    rows = [("a.png", "2"), ("b.png", "10"), ("c.png", "1"), ("d.png", "2")]
    for name, _ in rows:
        write_image(tmp_path / name)
    csv = tmp_path / "m.csv"
    csv.write_text("path,label\n" + "".join(f"{p},{y}\n" for p, y in rows), encoding="utf-8")
    m = read_csv_manifest(csv)
    assert m.class_names == ("1", "2", "10") and m.labels == (1, 2, 0, 1)
    (tmp_path / "n.csv").write_text("path,label\na.png,b10\nb.png,b2\n", encoding="utf-8")
    assert read_csv_manifest(tmp_path / "n.csv").class_names == ("b10", "b2")  # names: as text
