"""The device/strategy/precision decision is a pure function: test every case without hardware."""

import pytest

from fracturenet.hardware import HardwareInfo, is_chief, plan_execution

A100 = ("NVIDIA A100", (8, 0))
V100 = ("Tesla V100", (7, 0))
K80 = ("Tesla K80", (3, 7))
CLUSTER = {"cluster": {"worker": ["h1:1", "h2:1", "h3:1"]}, "task": {"type": "worker", "index": 0}}


@pytest.mark.parametrize(
    ("hw", "strategy", "precision", "replicas", "growth"),
    [
        (HardwareInfo(), "default", "float32", 1, False),
        (HardwareInfo(cpu_flags=frozenset({"avx512f"})), "default", "float32", 1, False),
        (HardwareInfo(cpu_flags=frozenset({"avx512_bf16"})), "default", "mixed_bfloat16", 1, False),
        (HardwareInfo(cpu_flags=frozenset({"amx_bf16"})), "default", "mixed_bfloat16", 1, False),
        (HardwareInfo(gpus=(A100,)), "default", "mixed_bfloat16", 1, True),
        (HardwareInfo(gpus=(V100,)), "default", "mixed_float16", 1, True),
        (HardwareInfo(gpus=(K80,)), "default", "float32", 1, True),
        (HardwareInfo(gpus=(A100, A100)), "mirrored", "mixed_bfloat16", 2, True),
        (HardwareInfo(gpus=(A100, V100)), "mirrored", "mixed_float16", 2, True),
        (HardwareInfo(tf_config=CLUSTER), "multi_worker", "float32", 3, False),
        (HardwareInfo(gpus=(A100, A100), tf_config=CLUSTER), "multi_worker", "mixed_bfloat16", 6, True),
    ],
)
def test_auto_plan(hw, strategy, precision, replicas, growth):
    plan = plan_execution(hw)
    assert (plan.strategy, plan.precision, plan.replicas, plan.memory_growth) == (
        strategy,
        precision,
        replicas,
        growth,
    )
    assert plan.device == ("gpu" if hw.gpus else "cpu")
    assert any(r.startswith("precision:") for r in plan.reasons)
    assert any(r.startswith("strategy:") for r in plan.reasons)


def test_overrides_win():
    plan = plan_execution(HardwareInfo(gpus=(A100, A100)), precision="float32", strategy="default")
    assert (plan.strategy, plan.precision, plan.replicas) == ("default", "float32", 1)
    assert "precision: float32 (set by the user)" in plan.reasons


def test_scaling_with_replicas():
    plan = plan_execution(HardwareInfo(gpus=(A100,) * 4))
    assert plan.scale_batch_size(32) == 128
    assert plan.scale_learning_rate(1e-3) == pytest.approx(4e-3)


@pytest.mark.parametrize(("arg", "value"), [("precision", "fp8"), ("strategy", "horovod")])
def test_bad_choices_name_the_argument(arg, value):
    with pytest.raises(ValueError, match=rf"`{arg}`.*Received: {arg}='{value}'"):
        plan_execution(HardwareInfo(), **{arg: value})


def test_multi_worker_needs_tf_config():
    with pytest.raises(ValueError, match="TF_CONFIG"):
        plan_execution(HardwareInfo(), strategy="multi_worker")


@pytest.mark.parametrize(
    ("tf_config", "chief"),
    [
        (None, True),
        (CLUSTER, True),
        ({**CLUSTER, "task": {"type": "worker", "index": 2}}, False),
        ({"cluster": {"chief": ["c:1"], "worker": ["w:1"]}, "task": {"type": "chief"}}, True),
        ({"cluster": {"chief": ["c:1"], "worker": ["w:1"]}, "task": {"type": "worker"}}, False),
        ({**CLUSTER, "task": {"type": "evaluator", "index": 0}}, False),
    ],
)
def test_is_chief(tf_config, chief):
    assert is_chief(tf_config) is chief


def test_detect_hardware_reads_this_machine(monkeypatch):
    from fracturenet.hardware import detect_hardware

    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1"]}}')
    hw = detect_hardware()
    assert hw.cpu_count >= 1
    assert hw.tf_config == {"cluster": {"worker": ["localhost:1"]}}
    assert isinstance(hw.to_dict()["cpu_flags"], list)
