"""Deletion/insertion AUC, compare_methods and heat_in_mask_ratio."""

from __future__ import annotations

import numpy as np
import pytest

from fracturenet.exceptions import ExplainError
from fracturenet.explain import (
    compare_methods,
    deletion_insertion,
    heat_in_mask_ratio,
    random_heatmaps,
)
from tests.explain.conftest import region_model

BOX = (8, 16, 8, 16)


@pytest.fixture(scope="module")
def crafted():
    """region_model (class 1 = brightness inside BOX) and bright-in-box images."""
    model = region_model(32, box=BOX)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 120, (3, 32, 32, 3)).astype("float32")
    images[:, 8:16, 8:16] = rng.uniform(200, 255, (3, 8, 8, 3))
    truth = np.zeros((3, 32, 32), "float32")
    truth[:, 8:16, 8:16] = 1.0
    return model, images, truth


def test_known_important_region_beats_random(crafted):
    model, images, truth = crafted
    kwargs = {"targets": [1, 1, 1], "steps": 16, "insertion_baseline": "black"}
    good = deletion_insertion(model, images, truth, **kwargs)
    rand = deletion_insertion(model, images, random_heatmaps(truth.shape, seed=1), **kwargs)
    assert (good.deletion_auc < rand.deletion_auc).all()
    assert (good.insertion_auc > rand.insertion_auc).all()
    for scores in (good, rand):
        for auc in (scores.deletion_auc, scores.insertion_auc):
            assert ((auc >= 0) & (auc <= 1)).all()
    assert good.fractions[0] == 0.0 and good.fractions[-1] == 1.0
    # the endpoints are the untouched image and the fully deleted (black) image
    np.testing.assert_allclose(good.deletion_curves[:, 0], rand.deletion_curves[:, 0])
    np.testing.assert_allclose(good.deletion_curves[:, -1], 0.5, atol=1e-6)


def test_deletion_curve_is_monotone_when_deleting_can_only_lower_the_score(crafted):
    # blacking out pixels can only lower the box brightness, hence class 1's probability
    model, images, truth = crafted
    for heat in (truth, random_heatmaps(truth.shape, seed=2)):
        curves = deletion_insertion(model, images, heat, targets=[1, 1, 1], steps=8)
        assert (np.diff(curves.deletion_curves, axis=1) <= 1e-6).all()


def test_gradient_map_on_the_crafted_model_beats_random(crafted):
    model, images, _ = crafted
    result = compare_methods(model, images, methods=["saliency"], target=1, steps=8)
    assert result.ranking == ["saliency", "random"]
    table = result.to_markdown()
    assert table.count("\n| ") == 2 and "| 1 | saliency |" in table
    assert result.rows[0].score > result.rows[1].score


def test_faithfulness_errors(crafted):
    model, images, truth = crafted
    with pytest.raises(ExplainError, match="must match"):
        deletion_insertion(model, images, truth[:, :5])
    with pytest.raises(ExplainError, match="Received: steps=0"):
        deletion_insertion(model, images, truth, steps=0)
    with pytest.raises(ExplainError, match="Received: deletion_baseline='white'"):
        deletion_insertion(model, images, truth, deletion_baseline="white")
    with pytest.raises(ExplainError, match="'smoothgrad'"):
        compare_methods(model, images, methods=["gradcamm"])


def test_heat_in_mask_ratio():
    heat = np.zeros((4, 4))
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    heat[mask] = 0.8
    heat[~mask] = 0.2
    assert heat_in_mask_ratio(heat, mask) == pytest.approx(4.0)
    assert heat_in_mask_ratio(np.where(mask, 1.0, 0.0), mask) == float("inf")
    assert np.isnan(heat_in_mask_ratio(np.zeros((4, 4)), mask))
    with pytest.raises(ExplainError, match="some but not all"):
        heat_in_mask_ratio(heat, np.zeros((4, 4), bool))
    with pytest.raises(ExplainError, match="same shape"):
        heat_in_mask_ratio(heat, mask[:2])


def _phantom_classifier(size: int):
    """A small from-scratch CNN (raw 0-255 grey pixels in), compiled for sparse labels."""
    import keras

    inputs = keras.Input((size, size, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalMaxPooling2D()(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy")
    return model


@pytest.mark.slow
def test_heat_is_on_the_phantom_fracture(tmp_path):
    # ~20 s on 2 shared CPU cores. VGG16 from scratch does not learn 96 images in that
    # time; a small CNN does (about 0.88 held-out accuracy), which is all this needs.
    import keras

    from fracturenet.data import load_image
    from fracturenet.explain import explain
    from fracturenet.phantoms import load_fracture_mask, make_synthetic_fractures

    size = 64
    manifest = make_synthetic_fractures(
        tmp_path / "phantoms",
        classes=["comminuted"],
        include_normal=True,
        images_per_class=64,
        image_size=size,
    )

    def split(name):
        sub = manifest.subset(name)
        pixels = np.stack([load_image(p)[..., :1] for p in sub.paths]).astype("float32")
        return pixels, np.asarray(sub.labels), sub.paths

    x_train, y_train, _ = split("train")
    x_test, y_test, test_paths = split("test")
    # A ReLU CNN without BatchNorm sometimes dies at initialisation (seed 0 on a 2-core EPYC:
    # 0.47, all one class); the claim below is about a model that learned, so a dead start is
    # retried with the next seed, at most twice.
    for seed in (0, 1, 2):
        keras.utils.set_random_seed(seed)
        model = _phantom_classifier(size)
        model.fit(x_train, y_train, epochs=25, batch_size=16, verbose=0)
        accuracy = float((model.predict(x_test, verbose=0).argmax(1) == y_test).mean())
        if accuracy >= 0.75:
            break
    assert accuracy >= 0.75, f"the phantom model did not learn (accuracy {accuracy:.2f})"

    fracture = 1 - manifest.class_names.index("No fracture")
    held_out = [i for i, y in enumerate(y_test) if y == fracture]
    masks = [load_fracture_mask(test_paths[i]) for i in held_out]
    result = explain(model, x_test[held_out], method="gradcam", target=fracture)
    ratios = [heat_in_mask_ratio(h, m) for h, m in zip(result.heatmaps, masks, strict=True)]
    # The fracture sits on the bright bone, so "heat on bright pixels" already scores above
    # 1; the map must beat that naive baseline too, not just the background.
    brightness = [heat_in_mask_ratio(x_test[i, ..., 0], m) for i, m in zip(held_out, masks)]
    assert np.mean(ratios) > 1.0
    assert np.mean(ratios) > np.mean(brightness), (np.mean(ratios), np.mean(brightness))
