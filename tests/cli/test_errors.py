"""One-line CLI errors: the decode error behind TensorFlow's, flags instead of Python kwargs."""

from __future__ import annotations

import argparse

import numpy as np
from PIL import Image

from fracturenet.commands._errors import cli_error_message
from fracturenet.exceptions import DatasetError, RunDirectoryExistsError


def test_a_decode_error_inside_tf_data_is_shown_as_the_original(tmp_path):
    from fracturenet.data import Manifest, make_dataset

    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(paths[-1])
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff junk")
    m = Manifest(paths=(*paths, str(bad)), labels=(0, 1, 0, 1), class_names=("a", "b"))
    try:
        for _ in make_dataset(m, image_size=8, batch_size=2):
            pass
    except Exception as exc:  # noqa: BLE001 - TensorFlow's wrapper is what we test
        assert "Traceback" in str(exc)  # what a user used to see
        line = cli_error_message(exc, argparse.Namespace(on_error="raise"))
    else:
        raise AssertionError("the corrupt file was not noticed")
    assert line.startswith(f"ImageDecodeError: Cannot read image {str(bad)!r}: not an image")
    assert "Traceback" not in line and "use --on-error skip" in line


def test_python_only_options_become_flags_or_disappear():
    ns = argparse.Namespace(resume=False, overwrite=False)
    exists = RunDirectoryExistsError(
        "Run directory 'r' already exists and is not empty. Choose a new path, pass "
        "resume=True (--resume) to continue that run, or overwrite=True (--overwrite) to reuse "
        "it. Received: path='r'")
    line = cli_error_message(exists, ns)
    assert "pass --resume to continue" in line and "or --overwrite to reuse" in line
    assert line.endswith("Received: path='r'")
    empty = DatasetError("Class folder 'a' holds no images ('d/a'). Add images, remove the "
                         "folder, or pass on_empty='skip' to leave the class out. "
                         "Received: on_empty='raise'")
    assert cli_error_message(empty, argparse.Namespace()) == (
        "DatasetError: Class folder 'a' holds no images ('d/a'). Add images, remove the "
        "folder. Received: on_empty='raise'")
    assert "overwrite" not in cli_error_message(
        FileExistsError("'x' already exists; choose a new path or pass overwrite=True."),
        argparse.Namespace())
