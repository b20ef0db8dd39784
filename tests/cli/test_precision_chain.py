"""train -> evaluate -> explain -> predict -> export on the command line under mixed_bfloat16.

`--precision auto` picks mixed_bfloat16 on CPUs with AVX512-BF16 (and recent GPUs), and the
other CLI tests pin float32 (`conftest.TINY`), so both branches run on every host. Under
bfloat16, Grad-CAM works on a float32 copy of the model; before the recipes compiled with a
registered loss, making that copy crashed `fracturenet demo` and `explain` on such CPUs.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import TINY, run_cli


def _with(argv: list[str], **values: str) -> list[str]:
    """``argv`` with the value after each ``--flag`` in ``values`` replaced."""
    out = list(argv)
    for flag, value in values.items():
        out[out.index("--" + flag.replace("_", "-")) + 1] = value
    return out


# conftest's tiny run on a smaller backbone, under the other precision
BF16 = _with(TINY, backbone="smallcnn_tiny", bootstrap="20", precision="mixed_bfloat16")


@pytest.fixture(scope="module")
def bf16_run(phantoms, tmp_path_factory):
    from fracturenet.cli import main

    out = tmp_path_factory.mktemp("bf16") / "run"
    assert main(["train", phantoms.root, "--out", str(out), *BF16]) == 0
    assert json.loads((out / "config.json").read_text())["precision"] == "mixed_bfloat16"
    return out


def test_bf16_run_evaluates_explains_predicts_and_exports(capsys, bf16_run, phantoms, tmp_path):
    code, out, err = run_cli(
        capsys,
        "evaluate",
        bf16_run,
        phantoms.root,
        "--bootstrap",
        "20",
        "--out",
        tmp_path / "eval.json",
        "--json",
    )
    assert code == 0, err
    assert 0.0 <= json.loads(out)["metrics"]["accuracy"] <= 1.0
    images = phantoms.paths[:2]
    code, out, err = run_cli(
        capsys, "explain", bf16_run, *images, "--out", tmp_path / "ex", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["images"] == 2
    code, out, err = run_cli(
        capsys,
        "predict",
        bf16_run,
        *images,
        "--precision",
        "mixed_bfloat16",
        "--csv",
        tmp_path / "p.csv",
        "-q",
    )
    assert code == 0, err
    assert (tmp_path / "p.csv").read_text().count("\n") == 3  # header + 2 rows
    code, out, err = run_cli(
        capsys, "export", bf16_run, "--out", tmp_path / "sm", "--json", "--sample", *images
    )
    assert code == 0, err
    assert json.loads(out)["passed"]
