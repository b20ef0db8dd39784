"""The model a Trainer just trained works everywhere, under every precision the planner picks.

`precision="auto"` picks `mixed_bfloat16` on CPUs with AVX512-BF16 (and GPUs with compute
capability >= 8), `mixed_float16` on older GPUs and `float32` elsewhere, so what a user gets
must not depend on which machine runs these tests: each policy is forced here, for each
recipe (scratch, transfer head, fine-tune). Explaining a reduced-precision model clones it in
float32, and `keras.models.clone_model` recompiles the clone from its compile config: a loss
Keras cannot rebuild (a closure) crashed `fracturenet demo` on AVX512-BF16 CPUs.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fracturenet.config import ModelConfig
from fracturenet.training import Trainer

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
RECIPES = {
    "scratch": {"recipe": "scratch"},
    "transfer": {"recipe": "transfer"},
    "fine_tune": {"recipe": "transfer", "fine_tune_epochs": 1},
}
SIZE = 32


@pytest.fixture(scope="module")
def arrays():
    """16 images of 3 classes at 32 px (the content does not matter: this is about plumbing)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (12, SIZE, SIZE, 3)).astype("float32")
    return x, np.array([0, 1, 2] * 4)


def _train(arrays, precision: str, recipe: str) -> keras.Model:
    config = ModelConfig("smallcnn_tiny", 3, (SIZE, SIZE, 3), weights=None)
    trainer = Trainer(config, precision=precision, verbose=0, class_names=["a", "b", "c"])
    trainer.fit(arrays, arrays, epochs=1, batch_size=8, **RECIPES[recipe])
    assert trainer.model.dtype_policy.name == precision
    return trainer.model


@pytest.mark.parametrize("recipe", list(RECIPES))
@pytest.mark.parametrize("precision", PRECISIONS)
def test_trained_model_clones_explains_evaluates_and_reloads(arrays, precision, recipe, tmp_path):
    from fracturenet.evaluation import evaluate
    from fracturenet.explain import explain
    from fracturenet.inference import Predictor
    from fracturenet.models import save_model

    model = _train(arrays, precision, recipe)
    x, y = arrays
    # everything it was compiled with rebuilds: clone (recompiles), config and JSON round trips
    assert keras.models.clone_model(model).compiled
    assert keras.models.model_from_json(model.to_json()).count_params() == model.count_params()
    assert type(model).from_config(model.get_config()).output_shape == model.output_shape

    maps = explain(model, x[:2], method="gradcam")
    assert all(np.isfinite(m).all() and m.max() <= 1.0 for m in maps.heatmaps)
    report = evaluate(model, (x, y), bootstrap=20, class_names=["a", "b", "c"])
    assert 0.0 <= report.metrics["accuracy"] <= 1.0

    # Keras' own file keeps the compile config: it loads compiled, in safe mode
    model.save(tmp_path / "compiled.keras")
    loaded = keras.saving.load_model(tmp_path / "compiled.keras", compile=True, safe_mode=True)
    assert loaded.compiled and type(loaded.loss) is type(model.loss)
    expected = np.asarray(model.predict(x, verbose=0), "float32")
    tolerance = 1e-5 if precision == "float32" else 2e-2  # bf16 keeps 8 bits of mantissa
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=tolerance)
    save_model(model, tmp_path / "model.keras", class_names=["a", "b", "c"])
    predicted = Predictor.load(tmp_path / "model.keras", precision="float32").predict_arrays(x)
    np.testing.assert_allclose(predicted, expected, atol=tolerance)


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        ({}, "float32"),
        ({"cpu_flags": frozenset({"avx512f"})}, "float32"),
        ({"cpu_flags": frozenset({"avx512_bf16"})}, "mixed_bfloat16"),
        ({"gpus": (("Tesla V100", (7, 0)),)}, "mixed_float16"),
    ],
    ids=["plain-cpu", "avx512-no-bf16", "avx512-bf16", "gpu-cc7"],
)
def test_auto_precision_follows_the_injected_hardware_to_a_model_that_explains(
    arrays, hardware, expected
):
    """`precision="auto"` decides from a HardwareInfo; injecting one forces each branch."""
    from fracturenet.explain import explain
    from fracturenet.hardware import HardwareInfo

    config = ModelConfig("smallcnn_tiny", 3, (SIZE, SIZE, 3), weights=None)
    trainer = Trainer(config, precision="auto", hardware=HardwareInfo(**hardware), verbose=0)
    trainer.fit(arrays, None, epochs=1, batch_size=8)
    assert trainer.plan.precision == expected
    assert trainer.model.dtype_policy.name == expected
    maps = explain(trainer.model, arrays[0][:1])
    assert np.isfinite(maps.input_heatmaps).all()
