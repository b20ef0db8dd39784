"""The training loop the Trainer uses under ``MultiWorkerMirroredStrategy``.

Keras 3's ``model.fit`` cannot run under ``MultiWorkerMirroredStrategy`` (it reduces the
first distributed batch eagerly while building, keras-team/keras#20585). This loop does
what ``fit`` would: every worker reads its own shard of the examples
(``distribute_datasets_from_function``), each replica computes its loss scaled by the
*global* batch, the Keras optimizer all-reduces (sums) the gradients across workers and
applies the same update everywhere; BatchNorm moving statistics, which each worker
updates from its own batches, are averaged across workers after every epoch, so the
weights stay identical everywhere. Batches are full (``drop_remainder``) over a repeated
shard, so no worker runs dry in a collective and hangs the others; an epoch is
``examples // global_batch`` steps. Validation runs on each worker over the whole
validation data with its local copy of the (identical) weights, so every worker takes the
same early-stopping and best-epoch decisions without another collective.

The Trainer's callback (history, checkpoints, early stopping) is driven exactly as
``fit`` drives it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

__all__ = ["fit_distributed", "predict_local"]


def _examples(x: Any, y: Any) -> tuple[Any, int]:
    """An unbatched ``tf.data.Dataset`` of ``(image, label)`` and its length."""
    import tensorflow as tf

    if y is not None:
        y = np.asarray(y)
        return tf.data.Dataset.from_tensor_slices((x, y)), len(y)
    ds = x.unbatch()
    n = int(ds.reduce(np.int64(0), lambda count, _: count + 1))  # one pass over the data
    return ds, n


def _weight_table(class_weight: dict[int, float] | None, num_classes: int) -> np.ndarray:
    table = np.ones(max(num_classes, 2), np.float32)
    for k, v in (class_weight or {}).items():
        table[int(k)] = float(v)
    return table


def _is_moving_statistic(variable: Any) -> bool:
    name = getattr(variable, "path", None) or variable.name
    return name.rsplit("/", 1)[-1].split(":")[0] in ("moving_mean", "moving_variance")


def _batches(data: Any, batch_size: int) -> Any:
    if isinstance(data, tuple):
        x, y = data
        return (
            (x[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(y), batch_size)
        )
    return data


_CALLS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _inference_call(model: Any) -> Any:
    """One traced inference function per model (shapes may vary: no retrace per batch)."""
    import tensorflow as tf

    if model not in _CALLS:
        _CALLS[model] = tf.function(lambda b: model(b, training=False), reduce_retracing=True)
    return _CALLS[model]


def predict_local(model: Any, x: Any, batch_size: int = 32) -> np.ndarray:
    """Runs ``model`` in inference mode on this worker alone (no cross-worker collective).

    Args:
        model: A ``keras.Model`` (possibly built under a distribution strategy).
        x: An array, or an iterable of ``(images, labels)`` batches.
        batch_size: Batch size for arrays. Defaults to `32`.

    Returns:
        The outputs as a NumPy array, in input order.
    """
    import tensorflow as tf

    call = _inference_call(model)
    if isinstance(x, np.ndarray):
        chunks = [x[i : i + batch_size] for i in range(0, len(x), batch_size)]
    else:
        chunks = (b[0] if isinstance(b, tuple | list) else b for b in x)
    out = [np.asarray(call(tf.convert_to_tensor(c))) for c in chunks]
    return np.concatenate(out).astype(np.float32)


def _evaluate(model: Any, data: Any, loss_fn: Any, batch_size: int) -> dict[str, float]:
    import tensorflow as tf

    call = _inference_call(model)
    total = correct = count = 0.0
    for xb, yb in _batches(data, batch_size):
        pred = call(tf.convert_to_tensor(xb))
        yb = np.asarray(yb).reshape(-1)
        total += float(tf.reduce_sum(tf.cast(loss_fn(yb, pred), tf.float32)))
        p = np.asarray(pred, np.float32)
        guess = (p[:, 0] > 0.5).astype(int) if p.shape[-1] == 1 else p.argmax(-1)
        correct += float((guess == yb).sum())
        count += len(yb)
    return {"val_loss": total / max(count, 1.0), "val_accuracy": correct / max(count, 1.0)}


def fit_distributed(
    model: Any,
    strategy: Any,
    x: Any,
    *,
    y: Any = None,
    validation_data: Any = None,
    initial_epoch: int = 0,
    epochs: int = 1,
    global_batch: int = 32,
    class_weight: dict[int, float] | None = None,
    callbacks: Sequence[Any] = (),
    seed: int = 0,
) -> None:
    """Trains a compiled model under a ``tf.distribute`` strategy with a custom loop.

    Args:
        model: A ``keras.Model`` built and compiled under ``strategy.scope()`` (the
            optimizer must be created in the scope).
        strategy: The ``tf.distribute.Strategy`` (``MultiWorkerMirroredStrategy``; any
            strategy works).
        x: Training images (array) or a ``tf.data.Dataset`` of ``(images, labels)`` batches.
        y: Labels when ``x`` is an array. Defaults to `None`.
        validation_data: ``(x, y)`` arrays, a dataset of batches, or ``None``.
            Defaults to `None`.
        initial_epoch: Epochs already done. Defaults to `0`.
        epochs: Epoch to stop after (as in ``fit``). Defaults to `1`.
        global_batch: Examples per step over all replicas. Defaults to `32`.
        class_weight: ``{class: weight}`` applied to the training loss. Defaults to `None`.
        callbacks: Keras callbacks, called per epoch; ``model.stop_training`` stops early.
            Defaults to `()`.
        seed: Shuffling seed. Defaults to `0`.

    Raises:
        ValueError: If there are fewer training examples than one global batch.
    """
    import tensorflow as tf

    examples, n = _examples(x, y)
    steps = n // global_batch
    if steps == 0:
        raise ValueError(
            f"A distributed epoch needs at least one full global batch of {global_batch} "
            f"examples (every worker must take part in every step). Received: {n} examples"
        )
    num_classes = int(model.output_shape[-1])
    table = tf.constant(_weight_table(class_weight, num_classes))
    loss_fn = keras.losses.get(model.loss)
    optimizer = model.optimizer
    with strategy.scope():
        optimizer.build(model.trainable_variables)

    def dataset_fn(ctx: Any) -> Any:
        shard = examples.shard(ctx.num_input_pipelines, ctx.input_pipeline_id)
        shard = shard.shuffle(max(1, n // ctx.num_input_pipelines), seed=seed).repeat()
        per_replica = ctx.get_per_replica_batch_size(global_batch)
        return shard.batch(per_replica, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))
    scale = getattr(optimizer, "scale_loss", None)  # LossScaleOptimizer (mixed_float16)

    def replica_step(xb: Any, yb: Any) -> tuple[Any, Any]:
        labels = tf.reshape(tf.cast(yb, tf.int32), [-1])
        weights = tf.gather(table, labels)
        with tf.GradientTape() as tape:
            pred = model(xb, training=True)
            per_example = tf.cast(loss_fn(yb, pred), tf.float32) * weights
            loss = tf.reduce_sum(per_example) / global_batch
            if model.losses:
                loss += tf.add_n(model.losses) / strategy.num_replicas_in_sync
            scaled = scale(loss) if scale is not None else loss
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        pred = tf.cast(pred, tf.float32)
        guess = (
            tf.cast(pred[:, 0] > 0.5, tf.int32)
            if num_classes == 1
            else tf.argmax(pred, -1, output_type=tf.int32)
        )
        correct = tf.reduce_sum(tf.cast(tf.equal(guess, labels), tf.float32))
        return tf.reduce_sum(per_example), correct

    @tf.function
    def train_step(it: Any) -> tuple[Any, Any]:
        loss, correct = strategy.run(replica_step, args=next(it))
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None),
        )

    moving = [v for v in model.non_trainable_variables if _is_moving_statistic(v)]

    @tf.function
    def average_moving_statistics() -> None:
        def replica_fn() -> Any:
            ctx = tf.distribute.get_replica_context()
            local = [tf.identity(v.value) for v in moving]  # plain tensors, not variables
            return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, local)

        means = strategy.run(replica_fn)
        for v, m in zip(moving, means, strict=True):
            v.assign(strategy.experimental_local_results(m)[0])

    callback_list = keras.callbacks.CallbackList(list(callbacks), model=model)
    model.stop_training = False
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        total = correct = 0.0
        for _ in range(steps):
            loss_sum, right = train_step(iterator)
            total += float(loss_sum)
            correct += float(right)
        if moving:  # BatchNorm statistics are updated per worker: make them agree
            average_moving_statistics()
        seen = float(steps * global_batch)
        logs = {"accuracy": correct / seen, "loss": total / seen}
        if validation_data is not None:
            logs.update(_evaluate(model, validation_data, loss_fn, global_batch))
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
