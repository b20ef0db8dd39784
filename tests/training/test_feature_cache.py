"""The feature-cache key changes with everything the features depend on."""

from __future__ import annotations

import keras
import pytest

import fracturenet.models
from fracturenet.data import Manifest
from fracturenet.models import build_classifier
from fracturenet.training.feature_cache import manifest_feature_key


def _build(size: int, policy: str = "float32") -> keras.Model:
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(policy)
    try:
        return build_classifier(
            "vgg16", num_classes=2, input_shape=(size, size, 3), weights=None, dropout=0.0
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("fc")
    paths = []
    for i in range(2):
        p = root / f"{i}.png"
        p.write_bytes(b"x" * (i + 1))
        paths.append(str(p))
    return Manifest(paths, [0, 1], ("a", "b"))


def test_key_depends_on_image_size_precision_and_backbone(source, monkeypatch):
    # The same weights in every model, so only the named part can change the key.
    base = _build(32)
    same = _build(32)
    same.set_weights(base.get_weights())
    larger = _build(48)
    larger.set_weights(base.get_weights())
    bf16 = _build(32, "mixed_bfloat16")
    bf16.set_weights(base.get_weights())
    key = manifest_feature_key(base, source)
    assert manifest_feature_key(same, source) == key  # a deterministic key, not a random one
    assert manifest_feature_key(larger, source) != key  # image size
    assert manifest_feature_key(bf16, source) != key  # precision
    monkeypatch.setattr(fracturenet.models, "backbone_of", lambda model: "vgg19")
    assert manifest_feature_key(same, source) != key  # backbone name
    monkeypatch.undo()
    other = Manifest(source.paths[::-1], [1, 0], ("a", "b"))
    assert manifest_feature_key(same, other) != key  # the files (and their order)
