"""``fracturenet info``: versions, devices, the precision the Trainer would pick, cached weights."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from fracturenet.commands._registry import command


@command(
    "info",
    "Show versions, devices, the Trainer's hardware plan and cached weights.",
    "fracturenet info --json",
)
def add_arguments(p: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return run


def collect() -> dict[str, Any]:
    """Returns the information ``fracturenet info`` prints."""
    import platform

    import keras

    from fracturenet import __version__
    from fracturenet.hardware import detect_hardware, plan_execution
    from fracturenet.models import imagenet_weights_cached, list_backbones

    hw = detect_hardware()
    plan = plan_execution(hw)
    versions = {
        "fracturenet": __version__,
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    return {
        "versions": versions,
        "hardware": hw.to_dict(),
        "plan": plan.to_dict(),
        "imagenet_weights_cached": {b: imagenet_weights_cached(b) for b in list_backbones()},
    }


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for k, v in info["versions"].items():
        print(f"{k:>12}: {v}")
    print(f"{'devices':>12}: {info['plan']['device']} ({len(info['hardware']['gpus'])} GPU)")
    print(f"{'strategy':>12}: {info['plan']['strategy']}")
    print(f"{'precision':>12}: {info['plan']['precision']}")
    for reason in info["plan"]["reasons"]:
        print(f"{'':>12}  - {reason}")
    print(f"{'backbones':>12}: {', '.join(info['imagenet_weights_cached'])}")
    cached = [b for b, ok in info["imagenet_weights_cached"].items() if ok]
    print(f"{'imagenet':>12}: cached for {', '.join(cached) if cached else 'no backbone'}")
    return 0
