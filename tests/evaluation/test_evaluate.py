"""evaluate() on a tiny random Keras model: arrays, tf.data, TTA, sigmoid, hooks, errors."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from fracturenet.evaluation import evaluate  # noqa: E402


def _model(units: int = 3, activation: str = "softmax") -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),  # position-dependent, so a flip changes the output
            keras.layers.Dense(units, activation=activation),
        ],
        name="tiny",
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((10, 8, 8, 1)).astype("float32")
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    return x, y


def test_arrays_give_the_model_probabilities_in_order(data):
    x, y = data
    model = _model()
    report = evaluate(model, (x, y), class_names=["a", "b", "c"], bootstrap=50, batch_size=4)
    np.testing.assert_allclose(report.y_prob, model.predict(x, verbose=0), atol=1e-6)
    assert report.model_name == "tiny" and report.ids == tuple(str(i) for i in range(10))
    assert report.y_true.tolist() == y.tolist() and "accuracy" in report.intervals


def test_tf_data_dataset_matches_arrays_and_one_hot_labels_are_read(data):
    x, y = data
    model = _model()
    ds = tf.data.Dataset.from_tensor_slices((x, np.eye(3)[y])).batch(3)
    from_ds = evaluate(model, ds, bootstrap=0)
    from_arrays = evaluate(model, (x, y), bootstrap=0)
    np.testing.assert_allclose(from_ds.y_prob, from_arrays.y_prob, atol=1e-6)
    assert from_ds.y_true.tolist() == y.tolist()


def test_tta_averages_identity_and_horizontal_flip(data):
    x, y = data
    model = _model()
    plain = model.predict(x, verbose=0)
    flipped = model.predict(x[:, :, ::-1, :], verbose=0)
    report = evaluate(model, (x, y), tta=True, bootstrap=0)
    np.testing.assert_allclose(report.y_prob, (plain + flipped) / 2, atol=1e-6)
    assert not np.allclose(plain, flipped) and report.info["tta"] is True


def test_single_sigmoid_unit_is_two_classes(data):
    x, y = data
    model = _model(1, "sigmoid")
    report = evaluate(model, (x, y % 2), bootstrap=0)
    p1 = model.predict(x, verbose=0)[:, 0]
    np.testing.assert_allclose(report.y_prob[:, 1], p1, atol=1e-6)
    assert report.metrics["num_classes"] == 2


def test_to_arrays_hook_supplies_ids(data):
    x, y = data

    class Source:
        paths = tuple(f"/img/{i}.png" for i in range(10))

        def to_arrays(self):
            return x, y

    report = evaluate(_model(), Source(), bootstrap=0)
    assert report.ids[0] == "/img/0.png"


def test_unsupported_data_and_bad_outputs_are_explained(data):
    x, y = data
    with pytest.raises(TypeError, match="Received: data=str"):
        evaluate(_model(), "images/")
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        evaluate(_model(), {"x": x})
    with pytest.raises(ValueError, match="`model` outputs are not probabilities"):
        evaluate(_model(3, None), (x * 100, y), bootstrap=0)
    with pytest.raises(ValueError, match="len\\(class_names\\)=2"):
        evaluate(_model(), (x, y), class_names=["a", "b"], bootstrap=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        evaluate(_model(), (x, y), batch_size=0)
    with pytest.raises(ValueError, match="no batches"):
        evaluate(_model(), [])


def test_unbatched_dataset_and_dict_batches_are_explained(data):
    x, y = data
    with pytest.raises(ValueError, match="batch\\(batch_size\\)"):
        evaluate(_model(), tf.data.Dataset.from_tensor_slices((x, y)), bootstrap=0)
    with pytest.raises(TypeError, match="batch of type dict"):
        evaluate(_model(), [{"image": x, "label": y}], bootstrap=0)
