"""A quiet console: TensorFlow start-up noise filtered, progress with totals, ``--debug``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from fracturenet.cli import build_parser
from fracturenet.console import ProgressLine, filtered_stderr

NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1.0 9 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU "
    "will not be used.\n"
    "E0000 00:00:1.0 9 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n"
)


def test_filtered_stderr_drops_known_noise_and_keeps_real_errors(capfd):
    with filtered_stderr():
        os.write(2, NOISE.encode())
        os.write(2, b"E0000 op_kernel.cc:1] real failure: out of memory\n")
        print("a Python warning", file=sys.stderr)
    err = capfd.readouterr().err
    assert "cuInit" not in err and "absl::InitializeLog" not in err and "cudart" not in err
    assert "real failure: out of memory" in err and "a Python warning" in err


def test_progress_line_has_total_eta_and_few_lines():
    lines: list[str] = []
    p = ProgressLine("feature extraction", total=148, unit="batch", write=lines.append)
    for _ in range(148):
        p.update()
    # the first step is due only after every_s seconds; the last always prints
    assert len(lines) <= 3
    assert lines[-1].startswith("feature extraction: 148/148 batches (100%), done in")
    lines.clear()
    eta = ProgressLine("x", total=4, write=lines.append, every_s=0)
    eta.update()
    assert "1/4 steps (25%)" in lines[0] and "ETA" in lines[0]


def test_feature_extraction_reports_known_total():
    import keras
    import tensorflow as tf

    from fracturenet.training.feature_cache import extract_features

    x = np.zeros((10, 4), "float32")
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(10, "int64"))).batch(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    lines: list[str] = []
    feats, labels = extract_features(model, ds, verbose=1, write=lines.append)
    assert feats.shape == (10, 2) and labels.shape == (10,)
    assert lines and lines[-1].startswith("feature extraction: 4/4 batches (100%)")


@pytest.mark.parametrize(
    ("argv", "debug"),
    [(["info"], False), (["--debug", "info"], True), (["info", "--debug"], True)],
)
def test_debug_works_before_or_after_the_subcommand(argv, debug):
    from fracturenet import commands  # noqa: F401  (registers the subcommands)

    assert build_parser().parse_args(argv).debug is debug


@pytest.mark.slow
def test_info_prints_no_tensorflow_noise_on_stderr():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL",)}
    env.pop("FRACTURENET_TF_LOGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "fracturenet", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for noise in ("cuInit", "absl::InitializeLog", "cudart_stub", "cpu_feature_guard"):
        assert noise not in done.stderr, done.stderr
    assert "fracturenet:" in done.stdout
    assert "backbones:" in done.stdout and "convnext_tiny" in done.stdout  # train --help says so
