"""One tiny model trained through ``fracturenet train`` per session, reused by every CLI test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fracturenet.cli import main

TINY = [
    "--backbone",
    "vgg16",
    "--weights",
    "none",
    "--image-size",
    "32",
    "--epochs",
    "1",
    "--batch-size",
    "16",
    "--bootstrap",
    "50",
    "--precision",  # the same branch on every host; test_precision_chain.py forces the other
    "float32",
    "-q",
]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Runs ``fracturenet argv...`` in-process; returns ``(exit code, stdout, stderr)``."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def trained_run(phantoms, tmp_path_factory) -> Path:
    """A run folder from ``fracturenet train`` on the phantoms (32 px, 1 epoch, VGG16)."""
    out = tmp_path_factory.mktemp("runs") / "vgg16"
    code = main(["train", phantoms.root, "--out", str(out), *TINY, "--json"])
    assert code == 0
    return out


@pytest.fixture()
def image_folder(phantoms, tmp_path) -> Path:
    """Three phantom images and one corrupt ``.png`` in a temp folder."""
    import shutil

    folder = tmp_path / "new xrays"
    folder.mkdir()
    for p in phantoms.paths[:3]:
        shutil.copy(p, folder / Path(p).name)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return folder


def load_json(text: str) -> dict:
    return json.loads(text)
