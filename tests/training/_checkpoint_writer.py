"""Child process for the kill -9 checkpoint test: publishes checkpoints forever, no TensorFlow.

Each epoch's files hold the epoch number, so a reader can check that the record, the weights
and the best weights agree. Imports the checkpoint modules without ``fracturenet.training``'s
``__init__`` (which imports TensorFlow), so that a child starts in a fraction of a second.
"""

import os
import sys
import types

import fracturenet


def payload(kind, epoch, size=200_000):
    unit = f"{kind}:{epoch:06d}:".encode()
    return (unit * (size // len(unit) + 1))[:size]


def main():
    # Only in the child process: imported by the test module, the stub would replace the real
    # fracturenet.training for the rest of the pytest session.
    pkg = types.ModuleType("fracturenet.training")
    pkg.__path__ = [os.path.join(os.path.dirname(fracturenet.__file__), "training")]
    sys.modules["fracturenet.training"] = pkg
    from fracturenet.training.checkpoint_record import (
        latest_record,
        publish_checkpoint,
        read_verified,
    )

    directory = sys.argv[1]
    found = read_verified(directory)
    epoch = found[0]["epoch"] if found else 0
    best = found[0]["best_epoch"] if found else None
    while True:
        epoch += 1
        improved = epoch % 3 != 0  # every third epoch is not a new best
        best = epoch if improved else best
        # a shared base, written anew every fourth epoch and named again in between
        shared = ((latest_record(directory) or {}).get("files") or {}).get("base")
        base = payload("b", epoch) if epoch % 4 == 1 or shared is None else shared
        publish_checkpoint(
            directory,
            {"epoch": epoch, "best_epoch": best},
            {"base": base, "weights": payload("w", epoch), "optimizer": payload("o", epoch)},
            best=improved or None,
        )
        print(epoch, flush=True)


if __name__ == "__main__":
    main()
