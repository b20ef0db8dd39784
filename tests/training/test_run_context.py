"""The Trainer's helpers work from an explicit RunContext, not from the Trainer's private state."""

from __future__ import annotations

import ast
from pathlib import Path

import keras
import numpy as np

from fracturenet.config import ModelConfig
from fracturenet.training import Trainer
from fracturenet.training.callbacks import EpochCallback
from fracturenet.training.context import RunContext
from fracturenet.training.history import TrainingHistory

TRAINING = Path(__file__).resolve().parents[2] / "src" / "fracturenet" / "training"


def test_the_epoch_callback_needs_only_a_run_context(capsys):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    context = RunContext(model=model, verbose=2)
    history = TrainingHistory(monitor="loss", feature_cache="off")
    callback = EpochCallback(context, "head", history, patience=None)
    model.fit(np.zeros((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[callback])
    assert [row["epoch"] for row in history.rows] == [1, 2]
    assert context.best_weights_in_memory is not None  # no run folder: kept in memory
    assert "[fracturenet] epoch 1 [head]" in capsys.readouterr().out


def test_the_trainers_attributes_are_its_context():
    cfg = ModelConfig("smallcnn_tiny", num_classes=2, input_shape=(16, 16, 3), weights=None)
    trainer = Trainer(cfg, precision="float32", verbose=0, seed=5)
    assert trainer.model is trainer.context.model and trainer.context.seed == 5
    trainer.class_names = ("a", "b")
    assert trainer.context.class_names == ("a", "b")


def test_no_helper_reaches_into_the_trainers_private_state():
    """Outside trainer.py, nothing in the training package reads ``<something>._name`` of a
    Trainer or a context (private state shared by convention rather than by a typed object)."""
    offenders = []
    for path in sorted(TRAINING.glob("*.py")):
        if path.name == "trainer.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in ("trainer", "context", "tr")
                and node.attr.startswith("_")
            ):
                offenders.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    assert not offenders, offenders
