"""The Trainer's run context: what its helpers may read and change, as one typed object.

The callbacks, the frozen-feature phase and the run-folder writers take a :class:`RunContext`
instead of the :class:`~fracturenet.training.Trainer` itself, so what they depend on is
written down here and nothing reaches into the Trainer's private state. The Trainer's public
attributes (``model``, ``run``, ``plan``, ``class_names``...) read and write the same context.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """The state of one Trainer that its helpers share.

    Attributes:
        model: The Keras model being trained.
        model_config: The :class:`~fracturenet.config.ModelConfig` it was built from, or
            ``None`` for a model built by the caller.
        plan: The :class:`~fracturenet.hardware.ExecutionPlan` (device, precision, strategy).
        hardware: The :class:`~fracturenet.hardware.HardwareInfo` the plan was made for.
        strategy: The live ``tf.distribute`` strategy, or ``None`` for the default one.
        run: The :class:`~fracturenet.training.rundir.RunDirectory`, or ``None``.
        seed: The seed of weights initialisation and shuffling.
        verbose: 0 silent, 1 progress bars, 2 one line an epoch.
        resume: Whether this run continues the one in ``run``.
        keep_checkpoints: ``"last"``, ``"all"`` or ``"none"``.
        multi_worker: Whether this process is one worker of several.
        class_names: The class names, once known.
        decode_reports: The decode reports of the pipelines of the current fit (skipped
            images), in the order train, validation.
        best_weights_in_memory: The best weights when there is no run folder to keep them.
        folded_extractor: ``(extractor, copy with BatchNorm folded)`` of the current head
            phase, so the folded copy is made once per phase.
    """

    model: Any = None
    model_config: Any = None
    plan: Any = None
    hardware: Any = None
    strategy: Any = None
    run: Any = None
    seed: int = 42
    verbose: int = 1
    resume: bool = False
    keep_checkpoints: str = "last"
    multi_worker: bool = False
    class_names: tuple[str, ...] | None = None
    decode_reports: list[Any] = field(default_factory=list)
    best_weights_in_memory: list[Any] | None = None
    folded_extractor: tuple[Any, Any] | None = None

    def log(self, message: str) -> None:
        """Prints ``message`` (unless quiet) and appends it to the run's ``train.log``."""
        if self.verbose:
            print(f"[fracturenet] {message}", flush=True)
        if self.run is not None:
            self.run.append_log(message)

    def scope(self) -> Any:
        """The distribution strategy's scope, or a context that does nothing."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()


def context_attribute(name: str, doc: str) -> property:
    """A Trainer property that reads and writes ``self.context.<name>``."""

    def get(self: Any) -> Any:
        return getattr(self.context, name)

    def set_(self: Any, value: Any) -> None:
        setattr(self.context, name, value)

    return property(get, set_, doc=doc)
