"""The scratch recipe against plain Keras on the same network: the small form of goal (a).

``benchmarks/learning.py`` compares the library's from-scratch recipe with a plain Keras CNN
of the same architecture on the demo phantoms. The benchmark once found the recipe 9.8
points behind (0.843 vs 0.940): the head's feature BatchNorm (``head_norm``), harmless on
frozen features, slowed end-to-end training of a network with BatchNorm of its own. This test
keeps the comparison running on a budget a test can afford. At this budget it does not
resolve that 6-point ``head_norm`` effect (planted: it still passed); the rule itself is
pinned by ``tests/models/test_finetune.py::test_head_norm_default_follows_...``. It does
catch a recipe that trains badly: planted, a scratch learning rate of 1e-5 instead of 1e-3
failed it (mean 0.23 against the reference's 0.61 over seeds 0, 2 and 3).

One seed is not enough to compare two trainings on 44 validation images: across seeds 0 to 4
(each its own phantoms, split and initialisation) the difference ranged from -9 to +7
points, and seed 0, which passed in earlier CI runs, lost by 9 points (0.523 vs 0.614) on a
later machine with the same code (this one lacks AVX512-BF16; Keras and Pillow versions were
ruled out). The test therefore compares the means over three seeds, each pair of runs on the
same phantoms and split, with a margin of 10 points: about 2.5 standard deviations of that
mean difference, and far inside the 38 points by which that badly training recipe lost."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SIZE, PER_CLASS, EPOCHS, BATCH = 32, 60, 12, 16
SEEDS, MARGIN = (0, 1, 2), 0.10


def _plain_keras_small_cnn(x, y, xv, yv, k, seed):
    """SmallCNN's network in a plain Keras model and fit; Adam, warm-up + cosine; best val.

    The network is the library's ``SmallCNN`` constructor (a ``keras.applications``-style
    function); everything around it (scaling, head, optimizer, loss, fit) is plain Keras.
    """
    import keras

    from fracturenet.models import SmallCNN
    from fracturenet.training.recipes import warmup_cosine

    keras.utils.set_random_seed(seed)
    inputs = keras.Input(x.shape[1:])
    h = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs)
    h = SmallCNN(input_tensor=h, pooling="avg").output
    h = keras.layers.Dropout(0.3)(h)
    model = keras.Model(inputs, keras.layers.Dense(k, activation="softmax")(h))
    steps = int(np.ceil(len(x) / BATCH))
    model.compile(
        keras.optimizers.Adam(warmup_cosine(1e-3, steps * EPOCHS, steps)),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, validation_data=(xv, yv), epochs=EPOCHS, batch_size=BATCH, verbose=0)
    return max(history.history["val_accuracy"])


def _one_seed(root, seed):
    """Best validation accuracy of plain Keras and of the library's recipe, same data."""
    from fracturenet.config import ModelConfig
    from fracturenet.data import load_resized, train_val_test_split
    from fracturenet.phantoms import PHANTOM_CLASSES, make_synthetic_fractures
    from fracturenet.training import Trainer

    manifest = make_synthetic_fractures(
        root,
        classes=list(PHANTOM_CLASSES[:4]),
        images_per_class=PER_CLASS,
        image_size=SIZE,
        seed=seed,
    )
    split = train_val_test_split(manifest, val=0.25, seed=seed, groups=None)
    train, val = split.subset("train"), split.subset("val")

    def arrays(m):
        rgb = np.stack([load_resized(p, SIZE) for p in m.paths]).astype("float32")
        grey = rgb @ np.array([0.299, 0.587, 0.114], np.float32)  # as make_dataset
        return grey[..., None], np.asarray(m.labels)

    (x, y), (xv, yv) = arrays(train), arrays(val)
    reference = _plain_keras_small_cnn(x, y, xv, yv, manifest.num_classes, seed)

    config = ModelConfig("smallcnn", manifest.num_classes, (SIZE, SIZE, 1), weights=None)
    trainer = Trainer(config, precision="float32", verbose=0, seed=seed)
    history = trainer.fit(train, val, epochs=EPOCHS, batch_size=BATCH)
    assert trainer.recipe.name == "scratch"
    return reference, max(r["val_accuracy"] for r in history.rows)


# The three seeds' trainings are three tests (each well under a minute, where one test of all
# three took about 110 s); the comparison of the means is a fourth, which runs after them in
# the same worker (pytest-xdist hands a module to one worker, in file order).
_PAIRS: dict[int, tuple[float, float]] = {}


@pytest.mark.parametrize("seed", SEEDS)
def test_one_seed_trains_plain_keras_and_the_scratch_recipe(seed, tmp_path):
    _PAIRS[seed] = _one_seed(tmp_path / f"p{seed}", seed)


def test_scratch_recipe_keeps_up_with_plain_keras_on_the_same_network():
    if set(_PAIRS) != set(SEEDS):
        pytest.skip(f"needs the trainings of seeds {SEEDS} in this session (ran: {sorted(_PAIRS)})")
    pairs = [_PAIRS[seed] for seed in SEEDS]
    reference, ours = (float(np.mean(column)) for column in zip(*pairs, strict=True))
    # the task is learnt at this budget, so the comparison means something
    assert reference > 0.5, pairs
    assert ours >= reference - MARGIN, pairs
