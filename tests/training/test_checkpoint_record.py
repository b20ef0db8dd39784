"""Checkpoint records: agreement after kill -9 at random instants, fallback, full disk."""

from __future__ import annotations

import errno
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fracturenet.exceptions import CheckpointError, DiskFullError
from fracturenet.training import rundir
from fracturenet.training.checkpoint_record import (
    discard_checkpoints,
    kept_epochs,
    latest_record,
    publish_checkpoint,
    read_verified,
)

WRITER = Path(__file__).with_name("_checkpoint_writer.py")
SRC = Path(__file__).resolve().parents[2] / "src"
sys.path.insert(0, str(WRITER.parent))
from _checkpoint_writer import payload  # noqa: E402


def _publish(d, epoch, best_epoch, improved=True, size=1000):
    return publish_checkpoint(
        d,
        {"epoch": epoch, "best_epoch": best_epoch},
        {"weights": payload("w", epoch, size), "optimizer": payload("o", epoch, size)},
        best=payload("w", epoch, size) if improved else None,
    )


def _check_agreement(d: Path) -> dict:
    """The record loads, and weights/optimizer/best files hold the epochs it names."""
    fallbacks: list[str] = []
    record, files = read_verified(d, fallbacks.append)
    assert not fallbacks, fallbacks  # a kill never damages the latest record
    epoch, best = record["epoch"], record["best_epoch"]
    assert files["weights"][:9] == f"w:{epoch:06d}:".encode()
    if "optimizer" in files:
        assert files["optimizer"][:9] == f"o:{epoch:06d}:".encode()
    assert files["best"][:9] == f"w:{best:06d}:".encode()
    assert record["files"]["best"]["name"] == f"epoch-{best:04d}.weights.npz"
    for role in ("base", "best_base"):  # a shared file holds the epoch its name says
        if role in files:
            named = int(record["files"][role]["name"][6:10])
            assert files[role][:9] == f"b:{named:06d}:".encode(), role
    return record


def test_kill_9_at_random_instants_never_leaves_a_disagreeing_record(tmp_path):
    rng = random.Random(14)
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    d, epochs_seen, kills, deadline = tmp_path / "ckpt", [], 0, time.time() + 40
    while kills < 25 and time.time() < deadline:
        proc = subprocess.Popen([sys.executable, str(WRITER), str(d)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()  # at least one checkpoint published in this life
        time.sleep(rng.uniform(0.0, 0.05))
        proc.kill()
        _, err = proc.communicate()
        assert b"Traceback" not in err, err.decode()[-2000:]
        kills += 1
        epochs_seen.append(_check_agreement(d)["epoch"])
        leftovers = [p.name for p in d.iterdir() if p.name.startswith(".")]
        names = {p.name for p in d.iterdir()} - set(leftovers)
        # last, previous, their <= 5 files and the best's <= 2, plus at most the 3 files of
        # an epoch killed before its record was published (removed by the next publication)
        assert len(names) <= 12 and len(leftovers) <= 1, (names, leftovers)
    assert kills >= 10
    assert epochs_seen == sorted(epochs_seen) and epochs_seen[-1] > kills  # progress made


def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    for epoch in (1, 2, 3):
        _publish(tmp_path, epoch, epoch)
    assert {p.name for p in tmp_path.iterdir()} == {
        "last.json", "previous.json", "epoch-0003.weights.npz", "epoch-0003.optimizer.npz",
        "epoch-0002.weights.npz",
    }  # previous keeps no optimizer state, and best weights are the epoch's file: stored once
    best = tmp_path / "epoch-0003.weights.npz"
    best.write_bytes(best.read_bytes()[:100])  # truncated
    said = []
    record, files = read_verified(tmp_path, said.append)
    assert record["epoch"] == 2 and "optimizer" not in files
    assert "epoch-0003.weights.npz" in said[0] and "falling back" in said[0]
    (tmp_path / "previous.json").write_text('{"format": 2, "epo')  # truncated JSON
    with pytest.raises(CheckpointError, match=r"previous\.json.*not valid JSON"):
        read_verified(tmp_path)


def test_a_new_best_is_in_the_same_record_and_an_old_best_is_kept(tmp_path):
    _publish(tmp_path, 1, 1)
    _publish(tmp_path, 2, 1, improved=False)
    record = _check_agreement(tmp_path)
    assert record["best_epoch"] == 1 and record["epoch"] == 2
    _publish(tmp_path, 3, 1, improved=False)
    assert _check_agreement(tmp_path)["files"]["best"]["name"] == "epoch-0001.weights.npz"
    assert {p.name for p in tmp_path.iterdir()} == {  # last, previous and the best epoch
        "last.json", "previous.json", "epoch-0003.weights.npz", "epoch-0003.optimizer.npz",
        "epoch-0002.weights.npz", "epoch-0001.weights.npz",
    }


def test_full_disk_raises_one_clear_error_and_keeps_the_previous_checkpoint(tmp_path,
                                                                          monkeypatch):
    _publish(tmp_path, 1, 1)
    monkeypatch.setattr(rundir, "free_bytes", lambda folder: 5000)
    with pytest.raises(DiskFullError, match=r"epoch-0002\.weights\.npz.*needs 2[0-9,]+ bytes"):
        _publish(tmp_path, 2, 2, size=20_000)
    monkeypatch.undo()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert _check_agreement(tmp_path)["epoch"] == 1


def test_enospc_during_the_write_removes_the_temporary_file(tmp_path, monkeypatch):
    """Where the free-space check passes but the disk fills while writing."""
    real_open = open

    def failing_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        if "w" in mode and ".tmp" in str(path):
            def write(_data):
                raise OSError(errno.ENOSPC, "No space left on device")
            f.write = write
        return f

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(DiskFullError, match=r"last\.json'?: it needs"):
        rundir.atomic_write_json(tmp_path / "last.json", {"epoch": 1})
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir()
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_a_real_full_disk(tmp_path):
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "256k"):
        pytest.skip("needs root and mount to create a small tmpfs (fake writers cover the rest)")
    try:
        big = 1 << 19
        with pytest.raises(DiskFullError, match=r"needs 5[0-9,]+ bytes and [0-9,]+ are free"):
            _publish(mnt, 1, 1, size=big)
        _publish(mnt, 1, 1, size=20_000)  # the next, smaller one works: nothing was left
        assert _check_agreement(mnt)["epoch"] == 1
        assert not [p for p in mnt.iterdir() if p.name.startswith(".")]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_keep_all_keeps_every_epochs_record_and_weights(tmp_path):
    for epoch in (1, 2, 3, 4):
        publish_checkpoint(tmp_path, {"epoch": epoch, "best_epoch": 1},
                           {"weights": payload("w", epoch, 100),
                            "optimizer": payload("o", epoch, 100)}, keep_all=True)
    assert sorted(p.name for p in tmp_path.glob("epoch-*")) == sorted([
        f"epoch-000{e}.{kind}" for e in (1, 2, 3, 4) for kind in ("json", "weights.npz")
    ] + ["epoch-0004.optimizer.npz"])  # optimizer state once
    assert kept_epochs(tmp_path) == [1, 2, 3, 4]
    record, files = read_verified(tmp_path, epoch=2)
    assert record["epoch"] == 2 and files["weights"][:9] == b"w:000002:"
    # a later publication without keep_all prunes back to last, previous and best
    publish_checkpoint(tmp_path, {"epoch": 5, "best_epoch": 1},
                       {"weights": payload("w", 5, 100)})
    assert kept_epochs(tmp_path) == [4, 5]
    with pytest.raises(CheckpointError, match=r"epoch 2 .*kept epochs: \[4, 5\].*epoch=2"):
        read_verified(tmp_path, epoch=2)


def test_a_shared_file_is_named_again_not_written_again(tmp_path):
    base = payload("b", 1, 5000)
    publish_checkpoint(tmp_path, {"epoch": 1, "best_epoch": 1},
                       {"base": base, "weights": payload("w", 1, 10)}, best=True)
    shared = latest_record(tmp_path)["files"]["base"]
    mtime = (tmp_path / shared["name"]).stat().st_mtime_ns
    for epoch in (2, 3):
        publish_checkpoint(tmp_path, {"epoch": epoch, "best_epoch": 1},
                           {"base": shared, "weights": payload("w", epoch, 10)})
    record, files = read_verified(tmp_path)
    assert files["base"] == base and (tmp_path / shared["name"]).stat().st_mtime_ns == mtime
    assert record["files"]["best"]["name"] == "epoch-0001.weights.npz"
    assert record["files"]["best_base"]["name"] == "epoch-0001.base.npz"
    assert {p.name for p in tmp_path.iterdir()} == {  # the base once, for all three records
        "last.json", "previous.json", "epoch-0001.base.npz", "epoch-0001.weights.npz",
        "epoch-0002.weights.npz", "epoch-0003.weights.npz",
    }
    (tmp_path / shared["name"]).unlink()
    with pytest.raises(CheckpointError, match=r"base file .*epoch-0001\.base\.npz.*missing"):
        publish_checkpoint(tmp_path, {"epoch": 4, "best_epoch": 1},
                           {"base": shared, "weights": payload("w", 4, 10)})


def test_discard_checkpoints_removes_records_then_files(tmp_path):
    for epoch in (1, 2, 3):
        _publish(tmp_path, epoch, 1, improved=epoch == 1)
    (tmp_path / "notes.txt").write_text("mine")
    assert discard_checkpoints(tmp_path) > 3000
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # only what it owns
    assert read_verified(tmp_path) is None


def test_a_full_disk_while_logging_names_the_log(tmp_path):
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "64k"):
        pytest.skip("needs root and mount to create a small tmpfs")
    try:
        run = rundir.RunDirectory(mnt / "run")
        with pytest.raises(DiskFullError, match=r"train\.log"):
            for _ in range(10_000):
                run.append_log("x" * 100)
        run.release()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
