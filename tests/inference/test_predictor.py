"""The Predictor: inputs of every kind, streaming, error rows, top-k, precision rebuild."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fracturenet.exceptions import ImageDecodeError, ModelFormatError
from fracturenet.inference import PredictionResult, Predictor
from fracturenet.inference.precision import with_precision
from fracturenet.inference.sources import run_model_path
from tests.inference.conftest import CLASSES


def _write_images(folder, n, size=(40, 70)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        p = folder / f"img_{i:02d}.png"
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def test_load_reads_class_names_and_input_size(predictor):
    assert predictor.class_names == tuple(CLASSES)
    assert predictor.input_shape == (32, 32, 3) and predictor.resize_mode == "letterbox"


def test_folder_matches_files_and_arrays(predictor, tmp_path):
    from fracturenet.data import load_resized

    paths = _write_images(tmp_path / "xr", 5)
    by_folder = predictor.predict(tmp_path / "xr")
    by_files = predictor.predict([str(p) for p in paths])
    arrays = np.stack([load_resized(p, 32) for p in paths])
    by_array = predictor.predict(arrays)
    assert by_folder.sources == [str(p) for p in paths]
    np.testing.assert_allclose(by_folder.probabilities, by_files.probabilities, atol=1e-6)
    np.testing.assert_allclose(by_folder.probabilities, by_array.probabilities, atol=1e-5)
    np.testing.assert_allclose(by_folder.probabilities.sum(1), 1.0, atol=1e-5)


def test_streams_in_chunks_of_batch_size(predictor, tmp_path):
    _write_images(tmp_path / "xr", 10)
    parts = list(predictor.iter_predict(tmp_path / "xr"))
    assert [len(p) for p in parts] == [4, 4, 2]


def test_unreadable_files_become_error_rows(predictor, tmp_path):
    paths = _write_images(tmp_path / "xr", 2)
    (tmp_path / "xr" / "zero.png").write_bytes(b"")
    missing = tmp_path / "missing.png"
    result = predictor.predict([paths[0], tmp_path / "xr" / "zero.png", missing, paths[1]])
    assert result.ok.tolist() == [True, False, False, True]
    assert set(result.errors) == {str(tmp_path / "xr" / "zero.png"), str(missing)}
    assert result.labels[1] is None and result.top(1) == [] and result.predicted[2] == -1
    with pytest.raises(ImageDecodeError, match="zero.png"):
        predictor.predict([paths[0], tmp_path / "xr" / "zero.png"], strict=True)


def test_top_k_is_sorted_and_capped(predictor):
    result = predictor.predict(np.zeros((2, 50, 30), np.uint8), top_k=10)
    top = result.top(0)
    assert len(top) == 3 and [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    assert top[0][0] == result.labels[0]


def test_csv_never_overwrites(predictor, tmp_path):
    result = predictor.predict(np.zeros((1, 32, 32, 3)))
    path = result.to_csv(tmp_path / "p.csv")
    assert path.read_text().splitlines()[0].startswith("source,label,probability,error,p_normal")
    with pytest.raises(FileExistsError, match="overwrite"):
        result.to_csv(tmp_path / "p.csv")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"class_names": ["a", "b"]}, "class_names"),
        ({"resize_mode": "pad"}, "resize_mode"),
        ({"batch_size": 0}, "batch_size"),
        ({"precision": "int8"}, "precision"),
    ],
)
def test_bad_arguments_name_themselves(model_file, kwargs, match):
    from fracturenet.models import load_model

    with pytest.raises(ValueError, match=match):
        Predictor(load_model(model_file), **kwargs)


def test_bad_inputs(predictor, tmp_path):
    with pytest.raises(ValueError, match="top_k"):
        predictor.predict(np.zeros((1, 32, 32, 3)), top_k=0)
    with pytest.raises(ValueError, match="No images to predict"):
        predictor.predict(tmp_path)
    with pytest.raises(ValueError, match="Array input"):
        predictor.predict(np.zeros((1, 2, 3, 4, 5)))


def test_run_model_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run_model_path(tmp_path / "nope")
    with pytest.raises(ModelFormatError, match="holds no model.keras"):
        run_model_path(tmp_path)


def test_bfloat16_rebuild_keeps_weights_and_agrees(model_file):
    from fracturenet.models import load_model

    model = load_model(model_file)
    fast = with_precision(model, "mixed_bfloat16")
    assert fast.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert fast.get_layer("predictions").compute_dtype == "float32"
    assert with_precision(model, "float32") is model
    x = np.random.default_rng(1).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    ref = Predictor(model, precision="float32").predict_arrays(x)
    got = Predictor(model, precision="mixed_bfloat16").predict_arrays(x)
    assert got.dtype == np.float32 and np.abs(got - ref).max() < 0.05


def test_concatenate_requires_parts():
    with pytest.raises(ValueError, match="parts"):
        PredictionResult.concatenate([])


def test_a_stretch_model_is_served_with_stretch(tmp_path):
    from tests.models.conftest import (
        fitted_as,
        save_stretch_model,
        tall_white_image,
        write_tall_white_images,
    )

    predictor = Predictor.load(save_stretch_model(tmp_path / "m.keras"), precision="float32")
    assert predictor.resize_mode == "stretch" and predictor.input_spec.size == (16, 16)
    seen = []
    call = predictor._call
    predictor._call = lambda x: (seen.append(np.array(x)), call(x))[1]  # the model's input
    files = write_tall_white_images(tmp_path / "images", classes=("x",), per_class=2)
    predictor.predict(files)
    predictor.predict([tall_white_image()])
    assert [fitted_as(batch) for batch in seen] == ["stretch", "stretch"]
    # an explicit mode still overrides the model's
    letterbox = Predictor.load(tmp_path / "m.keras", precision="float32", resize_mode="letterbox")
    assert fitted_as(letterbox._fit(tall_white_image())[None]) == "letterbox"
