"""fold_batchnorm computes the same function, including BatchNorm's epsilon."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from fracturenet.models.fold import fold_batchnorm


def _model(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    x = inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = keras.layers.BatchNormalization(epsilon=1e-3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(5)(x)
    out = keras.layers.BatchNormalization(epsilon=1e-3)(x)
    return keras.Model(inp, out)


@pytest.mark.parametrize("variance_scale", [1.0, 1e-4, 0.0])
def test_folded_model_matches_including_epsilon(variance_scale):
    # Pretrained networks have moving variances near 0, where sqrt(var + eps) is mostly eps:
    # folding without epsilon is off by orders of magnitude there, invisible at var ~ 1.
    model = _model(0)
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 1.5, c),  # gamma
                    rng.normal(0, 0.5, c),  # beta
                    rng.normal(0, 0.5, c),  # moving mean
                    variance_scale * rng.uniform(0.1, 1.0, c),  # moving variance
                ]
            )
    folded, n = fold_batchnorm(model)
    assert n == 3
    assert not any(isinstance(la, keras.layers.BatchNormalization) for la in folded.layers)
    x = rng.normal(size=(4, 8, 8, 3)).astype("float32")
    want = np.asarray(model(x, training=False))
    np.testing.assert_allclose(
        np.asarray(folded(x)), want, rtol=1e-4, atol=1e-4 * np.abs(want).max()
    )
