"""Which checkpoints a run folder keeps (``Trainer(keep_checkpoints=...)``) and resume from them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fracturenet.config import ModelConfig
from fracturenet.exceptions import CheckpointError
from fracturenet.training import Trainer, load_checkpoint
from fracturenet.training.checkpoint import load_best_weights

CFG = ModelConfig("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None, dropout=0.0)


def _data(n=16, size=32):
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    x = rng.uniform(0, 255, (n, size, size, 3)).astype("float32")
    x[y == 1, :, : size // 2] *= 0.2
    return x, y


def _fit(run, epochs, **kw):
    resume = kw.pop("resume", False)
    trainer = Trainer(CFG, run_dir=run, resume=resume, precision="float32", verbose=0, seed=3,
                      **kw)
    x, y = _data()
    history = trainer.fit((x, y), (x, y), epochs=epochs, feature_cache="memory", batch_size=8,
                          recipe="transfer")
    return trainer, history


def _names(folder):
    return {p.name for p in folder.iterdir()}


def _model_bytes(trainer):
    return sum(w.nbytes for w in trainer.model.get_weights())


def test_a_run_keeps_the_latest_previous_and_best_and_the_backbone_once(tmp_path):
    run = tmp_path / "run"
    trainer, history = _fit(run, 3)
    ckpt = run / "checkpoints"
    best = history.best_epoch
    assert _names(ckpt) == {
        "last.json", "previous.json",
        "epoch-0001.base.npz",  # every array, written once: later epochs name it again
        "epoch-0003.weights.npz", "epoch-0003.optimizer.npz",  # optimizer state once
        "epoch-0002.weights.npz",  # previous, kept as a fallback
        f"epoch-{best:04d}.weights.npz",
    }
    sizes = {p.name: p.stat().st_size for p in ckpt.iterdir()}
    assert sizes["epoch-0001.base.npz"] >= _model_bytes(trainer)
    assert sum(sizes.values()) < 1.05 * _model_bytes(trainer)  # the frozen backbone once
    # best weights rebuilt from base + changes are the weights the run ended with
    fresh = Trainer(CFG, precision="float32", verbose=0, seed=99)
    assert load_best_weights(ckpt, fresh.model) == best
    for a, b in zip(fresh.model.get_weights(), trainer.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    heads = []  # latest and previous: each its own head on the shared backbone
    for epoch in (3, 2):
        assert load_checkpoint(ckpt, fresh.model, epoch=epoch)["epoch"] == epoch
        heads.append(fresh.model.get_layer("predictions").get_weights()[0].copy())
    assert not np.array_equal(heads[0], heads[1])

    # resume from the pruned folder: epochs 4 and 5 follow, and the folder stays pruned
    trainer, history = _fit(run, 5, resume=True)
    assert [r["epoch"] for r in history.rows] == [1, 2, 3, 4, 5]
    assert "after epoch 3" in (run / "train.log").read_text()
    names = _names(ckpt)
    assert {"epoch-0005.weights.npz", "epoch-0005.optimizer.npz", "epoch-0004.weights.npz",
            "epoch-0001.base.npz"} <= names
    assert not {"epoch-0003.weights.npz", "epoch-0003.optimizer.npz"} & (
        names - {f"epoch-{history.best_epoch:04d}.weights.npz"})
    assert len([n for n in names if n.endswith(".optimizer.npz")]) == 1


def test_keep_all_keeps_every_epoch_loadable(tmp_path):
    run = tmp_path / "run"
    trainer, _ = _fit(run, 3, keep_checkpoints="all")
    ckpt = run / "checkpoints"
    assert {f"epoch-000{e}.json" for e in (1, 2, 3)} <= _names(ckpt)
    assert {f"epoch-000{e}.weights.npz" for e in (1, 2, 3)} <= _names(ckpt)
    assert len(list(ckpt.glob("*.optimizer.npz"))) == 1
    heads = []
    for epoch in (1, 2, 3):
        assert load_checkpoint(ckpt, trainer.model, epoch=epoch)["epoch"] == epoch
        heads.append(trainer.model.get_layer("predictions").get_weights()[0].copy())
    assert not np.array_equal(heads[0], heads[2])  # each epoch's own weights
    with pytest.raises(CheckpointError, match=r"epoch 7 .*kept epochs: \[1, 2, 3\]"):
        load_checkpoint(ckpt, trainer.model, epoch=7)


def test_keep_none_deletes_the_checkpoints_after_the_run_and_refuses_resume(tmp_path):
    run = tmp_path / "run"
    _fit(run, 2, keep_checkpoints="none")
    assert not (run / "checkpoints").exists() and (run / "model.keras").is_file()
    assert "deleted the checkpoints" in (run / "train.log").read_text()
    assert len(json.loads((run / "history.json").read_text())) == 2
    with pytest.raises(CheckpointError, match=r"keep_checkpoints='none'.*Start a new run"):
        _fit(run, 3, resume=True)


def test_keep_checkpoints_is_validated():
    with pytest.raises(ValueError, match=r"`keep_checkpoints` must be one of 'last', 'all', "
                                         r"'none'\. Received: keep_checkpoints='every'"):
        Trainer(CFG, verbose=0, keep_checkpoints="every")


def test_a_format_2_checkpoint_still_loads_and_becomes_the_previous_one(tmp_path):
    import keras

    from fracturenet.training.checkpoint import _npz, save_checkpoint
    from fracturenet.training.checkpoint_record import publish_checkpoint, read_verified

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    saved = model.get_weights()
    # the previous layout: one file with every array, the best weights the same file
    publish_checkpoint(tmp_path, {"epoch": 1, "best_epoch": 1}, {"weights": _npz(saved)},
                       best=True)
    last = tmp_path / "last.json"
    last.write_text(last.read_text().replace('"format": 3', '"format": 2'))
    model.set_weights([w + 1 for w in saved])
    assert load_checkpoint(tmp_path, model)["epoch"] == 1
    for a, b in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    save_checkpoint(tmp_path, model, None, {"epoch": 2, "best_epoch": 1})
    record, _ = read_verified(tmp_path, epoch=1)  # now previous.json, its file kept
    assert record["format"] == 2 and (tmp_path / "epoch-0001.weights.npz").is_file()
    assert load_best_weights(tmp_path, model) == 1  # a full best file, no base
