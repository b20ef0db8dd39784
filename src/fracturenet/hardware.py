"""Device, distribution strategy and precision selection.

The decision is split in two so that it can be tested without the hardware:

* :func:`detect_hardware` reads the machine (GPUs and their compute capability, CPU
  instruction-set flags, ``TF_CONFIG``) into a plain :class:`HardwareInfo`.
* :func:`plan_execution` is a pure function from a :class:`HardwareInfo` (and the user's
  overrides) to an :class:`ExecutionPlan` that says which strategy and precision to use and
  why.

:func:`apply_plan` then turns a plan into a live ``tf.distribute`` strategy and sets the Keras
precision policy.

Example:
    >>> from fracturenet.hardware import HardwareInfo, plan_execution
    >>> plan = plan_execution(HardwareInfo(gpus=(("NVIDIA A100", (8, 0)),)))
    >>> plan.strategy, plan.precision
    ('default', 'mixed_bfloat16')
    >>> plan_execution(HardwareInfo(gpus=(("V100", (7, 0)),) * 2)).strategy
    'mirrored'
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "HardwareInfo",
    "ExecutionPlan",
    "detect_hardware",
    "plan_execution",
    "PRECISIONS",
    "STRATEGIES",
]

PRECISIONS = ("auto", "float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
_BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclass(frozen=True)
class HardwareInfo:
    """What the machine offers, as plain values.

    Attributes:
        gpus: One ``(name, (major, minor))`` compute-capability pair per visible GPU.
        cpu_flags: CPU instruction-set flags (lower case, as in ``/proc/cpuinfo``).
        cpu_count: Logical CPU cores.
        tf_config: Parsed ``TF_CONFIG`` (multi-worker cluster spec) or ``None``.
        backend: Keras backend name (``"tensorflow"``, ``"jax"``, ``"torch"``).
    """

    gpus: tuple[tuple[str, tuple[int, int]], ...] = ()
    cpu_flags: frozenset[str] = frozenset()
    cpu_count: int = 1
    tf_config: dict[str, Any] | None = None
    backend: str = "tensorflow"

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable description."""
        d = asdict(self)
        d["cpu_flags"] = sorted(f for f in self.cpu_flags if f in _BF16_CPU_FLAGS + ("avx512f",))
        return d


@dataclass(frozen=True)
class ExecutionPlan:
    """The device, strategy and precision a run will use, with the reasons.

    Attributes:
        device: ``"gpu"`` or ``"cpu"``.
        strategy: ``"default"``, ``"mirrored"`` or ``"multi_worker"``.
        precision: Keras dtype policy name.
        replicas: Number of model replicas that each take a share of a global batch.
        memory_growth: Whether GPU memory growth is turned on.
        reasons: One sentence per decision, for the log and the run directory.
    """

    device: str
    strategy: str
    precision: str
    replicas: int = 1
    memory_growth: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def scale_batch_size(self, per_replica: int) -> int:
        """Returns the global batch size for ``per_replica`` images per replica."""
        return int(per_replica) * self.replicas

    def scale_learning_rate(self, lr: float) -> float:
        """Scales a single-replica learning rate linearly with the number of replicas."""
        return float(lr) * self.replicas

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable description."""
        return asdict(self)


def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _gpus_tensorflow() -> tuple[tuple[str, tuple[int, int]], ...]:
    import tensorflow as tf

    out = []
    for dev in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(dev)
        cc = details.get("compute_capability") or (0, 0)
        out.append((str(details.get("device_name", dev.name)), (int(cc[0]), int(cc[1]))))
    return tuple(out)


def _gpus_jax() -> tuple[tuple[str, tuple[int, int]], ...]:
    import jax

    out = []
    for dev in jax.devices():
        if dev.platform != "gpu":
            continue
        cc = str(getattr(dev, "compute_capability", "0.0")).split(".")
        out.append((dev.device_kind, (int(cc[0]), int(cc[1]) if len(cc) > 1 else 0)))
    return tuple(out)


def detect_hardware() -> HardwareInfo:
    """Reads the visible GPUs, CPU flags and ``TF_CONFIG`` of this machine.

    Returns:
        A :class:`HardwareInfo`. GPU discovery uses the active Keras backend
        (TensorFlow or JAX); other backends report no GPUs.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        gpus = _gpus_tensorflow()
    elif backend == "jax":
        gpus = _gpus_jax()
    else:
        gpus = ()
    raw = os.environ.get("TF_CONFIG")
    tf_config = json.loads(raw) if raw else None
    return HardwareInfo(
        gpus=gpus,
        cpu_flags=_cpu_flags() if platform.system() == "Linux" else frozenset(),
        cpu_count=os.cpu_count() or 1,
        tf_config=tf_config,
        backend=backend,
    )


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(
            f"Argument `{name}` must be one of {list(allowed)}. Received: {name}={value!r}"
        )


def plan_execution(
    hw: HardwareInfo, *, precision: str = "auto", strategy: str = "auto"
) -> ExecutionPlan:
    """Chooses device, strategy and precision for a hardware description.

    Rules: GPUs present -> memory growth on; several GPUs -> ``MirroredStrategy``;
    ``TF_CONFIG`` set -> ``MultiWorkerMirroredStrategy``; otherwise the default strategy.
    Precision ``"auto"``: ``mixed_float16`` on GPUs of compute capability 7.x,
    ``mixed_bfloat16`` on 8.0 and newer and on CPUs with AVX512-BF16 or AMX, ``float32``
    otherwise. The model's output layer stays float32 in every case (the model factory
    builds it so).

    Args:
        hw: The hardware, e.g. from :func:`detect_hardware`.
        precision: ``"auto"`` or an explicit policy from :data:`PRECISIONS`.
            Defaults to `"auto"`.
        strategy: ``"auto"`` or an explicit choice from :data:`STRATEGIES`.
            Defaults to `"auto"`.

    Returns:
        The :class:`ExecutionPlan`, with one reason per decision.

    Raises:
        ValueError: If ``precision`` or ``strategy`` is not an accepted value, or
            ``strategy="multi_worker"`` is asked for without ``TF_CONFIG``.
    """
    _check_choice("precision", precision, PRECISIONS)
    _check_choice("strategy", strategy, STRATEGIES)
    reasons: list[str] = []
    n_gpu = len(hw.gpus)
    device = "gpu" if n_gpu else "cpu"
    if n_gpu:
        names = ", ".join(f"{n} (cc {c[0]}.{c[1]})" for n, c in hw.gpus)
        reasons.append(f"device: {n_gpu} GPU(s) found: {names}; memory growth on")
    else:
        reasons.append(f"device: no GPU found; using the CPU ({hw.cpu_count} cores)")

    workers = len((hw.tf_config or {}).get("cluster", {}).get("worker", []))
    if strategy == "auto":
        if hw.tf_config:
            strategy = "multi_worker"
            reasons.append(f"strategy: TF_CONFIG is set ({workers} workers) -> multi_worker")
        elif n_gpu > 1:
            strategy = "mirrored"
            reasons.append(f"strategy: {n_gpu} GPUs -> mirrored")
        else:
            strategy = "default"
            reasons.append("strategy: one device -> default")
    else:
        if strategy == "multi_worker" and not hw.tf_config:
            raise ValueError(
                "strategy='multi_worker' needs the TF_CONFIG environment variable describing "
                "the cluster. Received: strategy='multi_worker' with TF_CONFIG unset"
            )
        reasons.append(f"strategy: {strategy} (set by the user)")
    if strategy == "mirrored":
        replicas = max(n_gpu, 1)
    elif strategy == "multi_worker":
        replicas = max(workers, 1) * max(n_gpu, 1)
    else:
        replicas = 1

    if precision == "auto":
        if n_gpu:
            major = min(c[0] for _, c in hw.gpus)
            if major >= 8:
                precision = "mixed_bfloat16"
                reasons.append("precision: GPU compute capability >= 8.0 -> mixed_bfloat16")
            elif major == 7:
                precision = "mixed_float16"
                reasons.append("precision: GPU compute capability 7.x -> mixed_float16")
            else:
                precision = "float32"
                reasons.append("precision: GPU older than compute capability 7.0 -> float32")
        else:
            found = [f for f in _BF16_CPU_FLAGS if f in hw.cpu_flags]
            if found:
                precision = "mixed_bfloat16"
                reasons.append(f"precision: CPU has {'/'.join(found)} -> mixed_bfloat16")
            else:
                precision = "float32"
                reasons.append("precision: CPU without AVX512-BF16 or AMX -> float32")
    else:
        reasons.append(f"precision: {precision} (set by the user)")
    if replicas > 1:
        reasons.append(
            f"scaling: {replicas} replicas -> global batch and learning rate x{replicas}"
        )
    return ExecutionPlan(
        device=device,
        strategy=strategy,
        precision=precision,
        replicas=replicas,
        memory_growth=bool(n_gpu),
        reasons=tuple(reasons),
    )


def is_chief(tf_config: dict[str, Any] | None) -> bool:
    """Whether this process is the chief of a ``TF_CONFIG`` cluster (the one that writes files).

    The chief is the ``"chief"`` task when the cluster has one, otherwise worker 0; a
    process without ``TF_CONFIG`` is its own chief.

    Args:
        tf_config: Parsed ``TF_CONFIG`` (see :class:`HardwareInfo`) or ``None``.

    Returns:
        `True` for the chief.

    Example:
        >>> cluster = {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}
        >>> is_chief({"cluster": cluster, "task": {"type": "worker", "index": 1}})
        False
        >>> is_chief({"cluster": cluster, "task": {"type": "worker", "index": 0}})
        True
    """
    if not tf_config:
        return True
    task = tf_config.get("task") or {}
    kind, index = task.get("type", "worker"), int(task.get("index", 0))
    if "chief" in (tf_config.get("cluster") or {}):
        return kind == "chief"
    return kind == "worker" and index == 0


def apply_plan(plan: ExecutionPlan) -> Any:
    """Sets the Keras precision policy and returns the strategy to build models under.

    With the TensorFlow backend the result is a ``tf.distribute.Strategy``; with other
    backends only the default strategy is supported and ``None`` is returned.

    Args:
        plan: The plan from :func:`plan_execution`.

    Returns:
        The strategy object (``tf.distribute.get_strategy()`` for ``"default"``) or ``None``.

    Raises:
        ValueError: If a distributed strategy is asked for on a non-TensorFlow backend.
    """
    import keras

    keras.mixed_precision.set_global_policy(plan.precision)
    if keras.backend.backend() != "tensorflow":
        if plan.strategy != "default":
            raise ValueError(
                f"strategy={plan.strategy!r} needs the TensorFlow backend; use "
                "keras.distribution on other backends. Received: "
                f"backend={keras.backend.backend()!r}"
            )
        return None
    import tensorflow as tf

    if plan.memory_growth:
        for gpu in tf.config.list_physical_devices("GPU"):
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except RuntimeError:  # already initialised: growth cannot change any more
                pass
    if plan.strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    if plan.strategy == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()
