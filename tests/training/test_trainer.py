"""Trainer: phases, feature cache parity, run directory, resume after kill -9, reproducibility."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fracturenet.config import ModelConfig
from fracturenet.exceptions import RunDirectoryExistsError
from fracturenet.training import Trainer

SCRIPT = Path(__file__).with_name("_train_script.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _data(n=16, size=32, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.uniform(0, 255, (n, size, size, 3)).astype("float32")
    x[y == 1, :, : size // 2] *= 0.2
    return x, y


CFG = ModelConfig("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None, dropout=0.0)


def _child(*args, env=None, **kw):
    e = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    e.update(env or {})
    return subprocess.Popen([sys.executable, str(SCRIPT), *map(str, args)], env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_fit_writes_the_run_directory(tmp_path):
    x, y = _data()
    run = tmp_path / "run"
    trainer = Trainer(CFG, run_dir=run, precision="float32", verbose=0, class_names=["a", "b"])
    history = trainer.fit((x, y), (x, y), epochs=2, fine_tune_epochs=1, unfreeze=1,
                          feature_cache="memory", batch_size=8, recipe="transfer")
    assert [r["phase"] for r in history.rows] == ["head", "head", "fine_tune"]
    assert [r["epoch"] for r in history.rows] == [1, 2, 3]
    assert history.best_epoch in (1, 2, 3) and history.feature_cache == "memory"
    for name in ("config.json", "environment.json", "history.csv", "history.json",
                 "training_curves.png", "model.keras", "train.log",
                 f"checkpoints/epoch-{history.best_epoch:04d}.weights.npz",
                 "checkpoints/last.json"):
        assert (run / name).exists(), name
    env = json.loads((run / "environment.json").read_text())
    assert env["plan"]["precision"] == "float32" and env["seed"] == 42
    assert "tensorflow" in env["versions"]
    assert len((run / "history.csv").read_text().strip().splitlines()) == 4
    # the directory is never reused silently
    with pytest.raises(RunDirectoryExistsError, match="resume=True"):
        Trainer(CFG, run_dir=run, verbose=0)


def test_feature_cache_matches_uncached_training():
    """Same head init, same data, one full batch per step: cached == uncached within noise."""
    x, y = _data()
    heads = []
    for mode in ("memory", "off"):
        trainer = Trainer(CFG, precision="float32", verbose=0, seed=7)
        trainer.fit((x, y), None, epochs=3, feature_cache=mode, batch_size=len(x),
                    class_weight=None, recipe="transfer")
        heads.append([w.copy() for w in trainer.model.get_layer("predictions").get_weights()])
    for a, b in zip(heads[0], heads[1]):
        np.testing.assert_allclose(a, b, atol=2e-4, rtol=1e-3)


def test_same_seed_same_history():
    x, y = _data()
    losses = []
    for _ in range(2):
        t = Trainer(CFG, precision="float32", verbose=0, seed=5)
        losses.append(t.fit((x, y), (x, y), epochs=2, feature_cache="memory",
                                recipe="transfer").history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="feature_cache"):
        Trainer(CFG, verbose=0).fit(_data(), epochs=1, feature_cache="sometimes")
    with pytest.raises(ValueError, match="Nothing to train"):
        Trainer(CFG, verbose=0).fit(_data(), epochs=0)
    with pytest.raises(TypeError, match="model"):
        Trainer(42, verbose=0)


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path):
    run = tmp_path / "run"
    proc = _child("train", run, 12)
    last = run / "checkpoints" / "last.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        if last.exists():
            try:
                if json.loads(last.read_text())["epoch"] >= 2:
                    break
            except (ValueError, KeyError):
                pass
        if proc.poll() is not None:
            pytest.fail(f"child ended early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(last.read_text())["epoch"]
    assert 2 <= killed_at < 12
    out, err = _child("resume", run, 12).communicate(timeout=300)
    assert out.strip(), err[-2000:]
    epochs = json.loads(out.strip().splitlines()[-1])["epochs"]
    assert epochs == list(range(1, 13))
    assert f"after epoch {killed_at}" in (run / "train.log").read_text()


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus():
    out, err = _child("mirrored", "-", 2).communicate(timeout=300)
    assert out.strip(), err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["epochs"] == 2
    assert all(np.isfinite(result["loss"]))


def _free_ports(n):
    import socket

    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@pytest.mark.slow
def test_multi_worker_mirrored_strategy_with_two_local_workers(tmp_path):
    """Two worker processes on 127.0.0.1 ports; bounded in time and always cleaned up."""
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    run = tmp_path / "run"
    procs = [
        _child("multi_worker", run, 2, env={"TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": i}})})
        for i in range(2)
    ]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    results = []
    for out, err in outs:
        assert out.strip(), err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    for r in results:
        assert (r["strategy"], r["replicas"], r["epochs"]) == ("multi_worker", 2, 3)
        assert all(np.isfinite(r["loss"]))
    # Same updates on both workers: identical weights at the end.
    assert results[0]["checksum"] == pytest.approx(results[1]["checksum"], rel=1e-6)
    # Only the chief (worker 0) writes the run directory.
    assert [r["writes_run_dir"] for r in results] == [True, False]
    assert (run / "model.keras").exists() and (run / "history.csv").exists()
    assert "phase 2" in (run / "train.log").read_text()


def test_multi_worker_refuses_resume_before_building(tmp_path):
    from fracturenet.hardware import HardwareInfo

    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    hw = HardwareInfo(tf_config={"cluster": cluster, "task": {"type": "worker", "index": 1}})
    with pytest.raises(ValueError, match="strategy='multi_worker'.*Received: resume=True"):
        Trainer(CFG, run_dir=tmp_path / "r", resume=True, hardware=hw, verbose=0)
    assert not (tmp_path / "r").exists()


def test_manifest_input_caches_features_and_disk_cache_is_reused(tmp_path, phantoms):
    train = phantoms.subset("train")
    cfg = ModelConfig("vgg16", num_classes=train.num_classes, input_shape=(32, 32, 3), weights=None)
    auto = Trainer(cfg, precision="float32", verbose=0, seed=3).fit(train, None, epochs=1, recipe="transfer")
    assert auto.feature_cache == "memory"
    for i in range(2):
        trainer = Trainer(cfg, run_dir=tmp_path / f"r{i}", precision="float32", verbose=0, seed=3)
        trainer.fit(train, None, epochs=1, feature_cache="disk",
                    feature_cache_dir=tmp_path / "cache", recipe="transfer")
    assert "feature cache: loaded" in (tmp_path / "r1" / "train.log").read_text()
    assert "feature cache: loaded" not in (tmp_path / "r0" / "train.log").read_text()
    assert len(list((tmp_path / "cache").glob("features-*.npz"))) == 1
    # augmentation changes the backbone's input every epoch: auto must not cache then
    aug = Trainer(cfg, precision="float32", verbose=0).fit(train, None, epochs=1,
                                                           augment="light", recipe="transfer")
    assert aug.feature_cache == "off"


def test_extraction_folds_batchnorm_once_for_train_and_val(capsys):
    x, y = _data()
    cfg = ModelConfig("resnet50", num_classes=2, input_shape=(32, 32, 3), weights=None, dropout=0.0)
    trainer = Trainer(cfg, precision="float32", verbose=2, seed=3)
    trainer.fit((x, y), (x, y), epochs=1, feature_cache="memory", batch_size=8, recipe="transfer")
    log = capsys.readouterr().out
    assert log.count("53 BatchNorm layers folded") == 1
    assert log.count("backbone ran once") == 2
    assert trainer.context.folded_extractor is None  # not kept after extraction


def test_fit_resize_mode_feeds_the_pipeline_and_is_saved(tmp_path):
    """The mode fit uses is what make_dataset gets and what model.keras records."""
    from fracturenet.data import discover
    from fracturenet.models import input_spec, read_metadata
    from tests.models.conftest import fitted_as, stretch_model, write_tall_white_images

    write_tall_white_images(tmp_path / "data", per_class=2)
    manifest = discover(tmp_path / "data")
    cfg = ModelConfig("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3), weights=None)
    run = tmp_path / "run"
    trainer = Trainer(cfg, run_dir=run, precision="float32", verbose=0)
    assert input_spec(trainer.model).resize_mode == "letterbox"  # built with the default
    trainer.fit(manifest, epochs=1, batch_size=4, resize_mode="stretch")
    images, _ = next(iter(trainer._make_dataset(manifest, training=False, batch_size=4,
                                                augment=None)))  # fmt: skip
    assert fitted_as(images) == "stretch"
    assert read_metadata(run / "model.keras")["input_spec"]["resize_mode"] == "stretch"
    assert json.loads((run / "config.json").read_text())["fit"]["resize_mode"] == "stretch"
    # resize_mode=None: the model's own mode, here the stretch it was built with
    other = Trainer(stretch_model(), run_dir=tmp_path / "run2", precision="float32", verbose=0)
    other.fit(manifest, epochs=1, batch_size=4)
    assert other.input_spec.resize_mode == "stretch"
    assert read_metadata(tmp_path / "run2" / "model.keras")["resize_mode"] == "stretch"
    with pytest.raises(ValueError, match="Received: resize_mode='pad'"):
        trainer.fit(manifest, epochs=1, resize_mode="pad")
