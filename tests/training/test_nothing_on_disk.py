"""A Trainer that cannot build its model leaves nothing on disk, so the retry works."""

from __future__ import annotations

import pytest

from fracturenet.config import ModelConfig
from fracturenet.exceptions import WeightsUnavailableError
from fracturenet.training import Trainer


def test_failed_trainer_leaves_no_run_folder_and_retry_works(tmp_path):
    run = tmp_path / "runs" / "x"
    bad = ModelConfig(
        backbone="vgg16", num_classes=2, input_shape=(32, 32, 3), weights=str(tmp_path / "no.h5")
    )
    with pytest.raises(WeightsUnavailableError):
        Trainer(bad, run_dir=run, verbose=0)
    assert not run.exists()
    good = ModelConfig(backbone="vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None)
    assert Trainer(good, run_dir=run, verbose=0).run is not None  # no RunDirectoryExistsError


def test_existing_folder_is_never_removed_on_failure(tmp_path):
    run = tmp_path / "mine"
    run.mkdir()
    (run / "notes.txt").write_text("keep me")
    bad = ModelConfig(
        backbone="vgg16", num_classes=2, input_shape=(32, 32, 3), weights=str(tmp_path / "no.h5")
    )
    with pytest.raises(WeightsUnavailableError):
        Trainer(bad, run_dir=run, overwrite=True, verbose=0)
    assert (run / "notes.txt").read_text() == "keep me"
