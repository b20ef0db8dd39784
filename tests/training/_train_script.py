"""Child process for the Trainer's crash/resume and distribution tests (not a test module)."""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def data(n=16, size=32, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.uniform(0, 255, (n, size, size, 3)).astype("float32")
    x[y == 1, :, : size // 2] *= 0.2  # a learnable difference between the two classes
    return x, y


def main():
    mode, run_dir, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    from fracturenet.config import ModelConfig
    from fracturenet.training import Trainer

    cfg = ModelConfig("vgg16", num_classes=2, input_shape=(32, 32, 3), weights=None, dropout=0.0)
    x, y = data()
    if mode in ("train", "resume"):
        trainer = Trainer(cfg, run_dir=run_dir, resume=mode == "resume", precision="float32",
                          verbose=2, seed=3)
        h = trainer.fit((x, y), (x, y), epochs=epochs, feature_cache="off", batch_size=8, recipe="transfer")
        print(json.dumps({"epochs": [r["epoch"] for r in h.rows]}))
    elif mode == "mirrored":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        trainer = Trainer(cfg, strategy=strategy, precision="float32", verbose=0, seed=3)
        h = trainer.fit((x, y), (x, y), epochs=epochs, feature_cache="off", batch_size=4, recipe="transfer")
        print(json.dumps({"replicas": trainer.plan.replicas, "epochs": h.epochs,
                          "loss": h.history["loss"]}))
    elif mode == "multi_worker":
        import numpy as np

        # Phase 1 on cached features, phase 2 through the whole model; class weights on.
        trainer = Trainer(cfg, run_dir=None if run_dir == "-" else run_dir, precision="float32",
                          verbose=2, seed=3)
        h = trainer.fit((x, y), (x, y), epochs=epochs, fine_tune_epochs=1, unfreeze=1,
                        feature_cache="memory", batch_size=4, class_weight="balanced", recipe="transfer")
        checksum = float(sum(np.abs(w).sum() for w in trainer.model.get_weights()))
        print(json.dumps({"strategy": trainer.plan.strategy, "replicas": trainer.plan.replicas,
                          "epochs": h.epochs, "loss": h.history["loss"],
                          "writes_run_dir": trainer.run is not None, "checksum": checksum}))


if __name__ == "__main__":
    main()
