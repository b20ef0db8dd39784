"""Exports: parity within tolerance, quantised agreement, refusal to overwrite, bad arguments."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fracturenet.inference.export import FLOAT_TOLERANCE, export_model, parity


def test_parity_report():
    ref = np.array([[0.7, 0.3], [0.2, 0.8]])
    assert parity(ref, ref + 5e-5, quantized=False)["passed"]
    failed = parity(ref, ref[:, ::-1], quantized=False)
    assert not failed["passed"] and failed["top1_agreement"] == 0.0
    assert parity(ref, ref + 0.05, quantized=True)["passed"]


def test_tflite_export_parity_and_files(model_file, tmp_path):
    out = tmp_path / "m.tflite"
    report = export_model(model_file, out, format="tflite")
    assert report["passed"] and report["max_abs_diff"] <= FLOAT_TOLERANCE
    assert out.is_file() and json.loads((tmp_path / "m.tflite.parity.json").read_text())["passed"]
    assert (tmp_path / "m.tflite.labels.txt").read_text().split() == ["normal", "fracture", "other"]
    with pytest.raises(FileExistsError, match="already exists"):
        export_model(model_file, out, format="tflite")
    q = export_model(model_file, out, format="tflite", quantize="dynamic", overwrite=True)
    assert q["tolerance"] is None and q["top1_agreement"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": "coreml"}, "format"),
        ({"format": "savedmodel", "quantize": "float16"}, "quantize"),
        ({"format": "tflite", "quantize": "int4"}, "quantize"),
    ],
)
def test_bad_export_arguments(model_file, tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        export_model(model_file, tmp_path / "x.tflite", **kwargs)


def test_tflite_needs_tflite_suffix(model_file, tmp_path):
    with pytest.raises(ValueError, match="'.tflite'"):
        export_model(model_file, tmp_path / "x.bin", format="tflite")


def test_onnx_export_or_missing_extra(model_file, tmp_path):
    from fracturenet.exceptions import MissingExtraError

    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match="fracturenet\\[onnx\\]"):
            export_model(model_file, tmp_path / "m.onnx", format="onnx")
        return
    report = export_model(model_file, tmp_path / "m.onnx", format="onnx")
    assert report["passed"] and report["max_abs_diff"] <= FLOAT_TOLERANCE


def test_float_parity_needs_the_probabilities_not_only_the_top1():
    # Same argmax everywhere but probabilities 0.05 apart: a float export must fail.
    ref = np.array([[0.7, 0.3], [0.2, 0.8]])
    off = parity(ref, ref + np.array([0.05, -0.05]), quantized=False)
    assert off["top1_agreement"] == 1.0 and not off["passed"]
    edge = parity(ref, ref + 1e-4 * 1.5, quantized=False)
    assert not edge["passed"] and edge["tolerance"] == 1e-4
