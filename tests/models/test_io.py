"""save_model / load_model / read_metadata: metadata, atomicity, refusal, bad files."""

from __future__ import annotations

import json
import zipfile

import keras
import numpy as np
import pytest

from fracturenet.exceptions import ModelFormatError
from fracturenet.models import build_classifier, load_model, read_metadata, save_model
from tests.models.conftest import pixels


@pytest.fixture(scope="module")
def model():
    return build_classifier(
        "vgg16", num_classes=2, input_shape=(32, 32, 1), weights=None, dense_units=4, binary=True
    )


def test_metadata_is_embedded_and_complete(model, tmp_path):
    path = tmp_path / "m.keras"
    save_model(
        model, path, class_names=["normal", "fractured"], training_config={"epochs": 1, "lr": 1e-3}
    )
    info = read_metadata(path)
    assert info["class_names"] == ["normal", "fractured"]
    assert info["training_config"] == {"epochs": 1, "lr": 1e-3}
    assert info["backbone"] == "vgg16" and info["preprocessing"] == "caffe"
    assert info["input_shape"] == [32, 32, 1] and info["num_outputs"] == 1
    assert info["format_version"] == "1.1" and "fracturenet_version" in info
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temp file left
    loaded = load_model(path)
    x = pixels(32, channels=1)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x)), keras.ops.convert_to_numpy(loaded(x))
    )


def test_refuses_to_overwrite_unless_asked(model, tmp_path):
    path = tmp_path / "m.keras"
    path.write_bytes(b"user data")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_model(model, path)
    assert path.read_bytes() == b"user data"
    save_model(model, path, overwrite=True, class_names=["a", "b"])
    assert read_metadata(path)["class_names"] == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


@pytest.mark.parametrize("bad", [{"backbone": "x"}, {"weird": object()}])
def test_bad_metadata_is_rejected(model, tmp_path, bad):
    with pytest.raises(ValueError, match="Received"):
        save_model(model, tmp_path / "m.keras", **bad)
    assert not list(tmp_path.iterdir())


def test_wrong_suffix_is_rejected(model, tmp_path):
    with pytest.raises(ValueError, match=r"must end in '.keras'"):
        save_model(model, tmp_path / "m.h5")


def test_plain_keras_file_without_metadata_is_a_clear_error(model, tmp_path):
    path = tmp_path / "plain.keras"
    model.save(path)
    with pytest.raises(ModelFormatError, match="no fracturenet metadata"):
        load_model(path)


def test_newer_major_format_is_refused(model, tmp_path):
    path = tmp_path / "future.keras"
    save_model(model, path)
    rewritten = tmp_path / "future2.keras"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(rewritten, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "fracturenet.json":
                info = json.loads(data)
                info.update(format_version="2.0", fracturenet_version="9.0.0")
                data = json.dumps(info).encode()
            dst.writestr(item, data)
    with pytest.raises(ModelFormatError, match="format '2.0' by fracturenet 9.0.0"):
        load_model(rewritten)


def test_not_a_zip_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.keras"
    path.write_text("not a model")
    with pytest.raises(ModelFormatError, match="not a readable .keras"):
        read_metadata(path)


def test_optimizer_state_is_left_out_unless_asked(tmp_path):
    import os

    import keras
    import numpy as np

    from fracturenet.models import build_classifier, load_model, save_model

    m = build_classifier(
        "vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None, freeze=False
    )
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    m.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    save_model(m, tmp_path / "bare.keras")
    save_model(m, tmp_path / "full.keras", include_optimizer=True)
    bare, full = (os.path.getsize(tmp_path / f"{n}.keras") for n in ("bare", "full"))
    assert bare < 0.5 * full  # Adam keeps two slots per trainable weight
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(load_model(tmp_path / "bare.keras")(x)),
        keras.ops.convert_to_numpy(m(x)),
        atol=1e-6,
    )


_PLAIN_KERAS = """
import sys
import numpy as np
import keras
model = keras.saving.load_model(sys.argv[1], safe_mode=True)
x = np.load(sys.argv[2])
np.save(sys.argv[3], keras.ops.convert_to_numpy(model(x)))
assert not any(m == "fracturenet" or m.startswith("fracturenet.") for m in sys.modules)
"""


@pytest.mark.parametrize(
    ("backbone", "channels"), [("vgg16", 1), ("resnet50v2", 3), ("densenet121", 3)]
)
def test_saved_model_loads_in_plain_keras_without_fracturenet(backbone, channels, tmp_path):
    """caffe (RGB->BGR, from grayscale), tf and torch preprocessing, in a fresh process."""
    import subprocess
    import sys

    model = build_classifier(backbone, num_classes=3, input_shape=(32, 32, channels), weights=None)
    path = tmp_path / "model.keras"
    save_model(model, path, class_names=["a", "b", "c"])
    x = pixels(32, channels=channels)
    np.save(tmp_path / "x.npy", x)
    script = tmp_path / "plain.py"
    script.write_text(_PLAIN_KERAS)
    # an empty PYTHONPATH and the tmp folder as cwd: fracturenet is not importable by accident
    env = {k: v for k, v in __import__("os").environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            str(script),
            str(path),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(
        np.load(tmp_path / "y.npy"), keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6
    )
