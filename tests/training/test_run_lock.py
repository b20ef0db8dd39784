"""One run folder, one writer: a live holder refuses, a stale lock is reported, never stolen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fracturenet.exceptions import RunLockedError
from fracturenet.training.run_lock import RunLock
from fracturenet.training.rundir import RunDirectory

SRC = Path(__file__).resolve().parents[2] / "src"
HOLDER = """
import os, sys, types, fracturenet
pkg = types.ModuleType("fracturenet.training")
pkg.__path__ = [os.path.join(os.path.dirname(fracturenet.__file__), "training")]
sys.modules["fracturenet.training"] = pkg
from fracturenet.training.run_lock import RunLock
lock = RunLock(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()  # hold until the parent closes stdin
"""


def _holder(folder):
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_is_refused_with_the_holders_pid_and_host(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    proc = _holder(run)
    try:
        with pytest.raises(RunLockedError, match=rf"in use by another process \(pid {proc.pid} "
                                                 r"on host '[^']+', started 20"):
            RunDirectory(run, resume=True)
    finally:
        proc.stdin.close()
        proc.wait()


def test_a_stale_lock_from_a_dead_process_is_reported_when_taken_over(tmp_path):
    proc = _holder(tmp_path)
    proc.kill()  # like kill -9: run.lock stays, the OS drops the lock
    proc.wait()
    assert json.loads((tmp_path / "run.lock").read_text())["pid"] == proc.pid
    lock = RunLock(tmp_path)
    assert f"stale lock on {str(tmp_path)!r}" in lock.describe_stale()
    assert f"pid {proc.pid}" in lock.describe_stale()
    lock.release()
    assert not (tmp_path / "run.lock").exists()
    assert RunLock(tmp_path).stale is None  # a released lock is not stale


def test_a_lock_recorded_by_another_host_is_never_taken_over(tmp_path):
    (tmp_path / "run.lock").write_text(json.dumps({"pid": 1, "host": "gpu-node-7"}))
    with pytest.raises(RunLockedError, match=r"another host \(pid 1 on host 'gpu-node-7'.*"
                                             r"delete '.*run\.lock'"):
        RunLock(tmp_path)
    assert "gpu-node-7" in (tmp_path / "run.lock").read_text()  # left untouched
