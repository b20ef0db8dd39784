"""A model trained with resize_mode="stretch" is evaluated and explained with stretch."""

from __future__ import annotations

import json

import numpy as np

from tests.cli.conftest import run_cli
from tests.models.conftest import fitted_as, save_stretch_model, write_tall_white_images


def test_evaluate_fits_images_with_the_models_resize_mode(capsys, tmp_path, monkeypatch):
    import fracturenet.evaluation as evaluation

    model = save_stretch_model(tmp_path / "m.keras")
    write_tall_white_images(tmp_path / "data", per_class=2)
    seen, real = [], evaluation.evaluate

    def spy(model, ds, **kwargs):
        seen.extend(np.asarray(images) for images, _ in ds)  # the pixels the model gets
        return real(model, ds, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", spy)
    code, out, _ = run_cli(
        capsys, "evaluate", model, tmp_path / "data", "--bootstrap", "0", "--json"
    )
    assert code == 0
    assert [fitted_as(batch) for batch in seen] == ["stretch"]
    assert json.loads(out)["info"]["resize_mode"] == "stretch"


def test_explain_fits_images_with_the_models_resize_mode(capsys, tmp_path, monkeypatch):
    import fracturenet.explain.cam as cam

    model = save_stretch_model(tmp_path / "m.keras")
    files = write_tall_white_images(tmp_path / "images", classes=("x",), per_class=1)
    seen, real = [], cam.prepare_images

    def spy(*args, **kwargs):
        batch, sizes = real(*args, **kwargs)
        seen.append(batch)  # the pixels the model is explained on
        return batch, sizes

    monkeypatch.setattr(cam, "prepare_images", spy)
    code, out, _ = run_cli(capsys, "explain", model, *files, "--out", tmp_path / "ex", "--json")
    assert code == 0 and json.loads(out)["resize_mode"] == "stretch"
    assert [fitted_as(batch) for batch in seen] == ["stretch"]
