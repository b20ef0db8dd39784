"""Seeded augmentation presets for radiographs, as Keras preprocessing-layer stacks.

Presets work on float batches ``[B, H, W, C]`` in 0..255 and keep that range:

* ``"radiograph"``: horizontal flip (left/right limbs; never vertical: anatomy has an up),
  rotation up to +-10 degrees, shifts up to 5 %, zoom up to +-10 %, contrast +-20 %,
  brightness +-10 %, Gaussian noise (sigma 3 grey levels). Filled areas are black, like
  the letterbox padding and X-ray backgrounds.
* ``"light"``: horizontal flip, rotation up to +-5 degrees, zoom up to +-5 %.

The stacks use only built-in Keras layers, so they run inside ``tf.data`` and can also be
placed in a model without blocking ``safe_mode`` loading.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["AUGMENT_PRESETS", "build_augmentation"]

#: Names accepted by :func:`build_augmentation` and ``make_dataset(augment=...)``.
AUGMENT_PRESETS: tuple[str, ...] = ("radiograph", "light")


def build_augmentation(preset: str = "radiograph", *, seed: int = 0) -> Callable:
    """Builds an augmentation preset as a ``keras.Sequential`` of random layers.

    Args:
        preset: One of :data:`AUGMENT_PRESETS`. Defaults to `"radiograph"`.
        seed: Base seed; layer ``i`` gets ``seed + i``. Defaults to `0`.

    Returns:
        A ``keras.Sequential``; call it as ``aug(images, training=True)`` on a float batch
        in 0..255.

    Raises:
        ValueError: If ``preset`` is unknown.

    Example:
        >>> import numpy as np
        >>> aug = build_augmentation("light", seed=1)
        >>> out = aug(np.full((2, 32, 32, 3), 100.0, np.float32), training=True)
        >>> tuple(out.shape)
        (2, 32, 32, 3)
    """
    if preset not in AUGMENT_PRESETS:
        raise ValueError(
            f"augment preset must be one of {AUGMENT_PRESETS} (or pass a callable to "
            f"make_dataset). Received: preset={preset!r}"
        )
    import keras
    from keras import layers

    fill = {"fill_mode": "constant", "fill_value": 0.0}
    if preset == "light":
        stack = [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(5 / 360, seed=seed + 1, **fill),
            layers.RandomZoom(0.05, seed=seed + 2, **fill),
        ]
    else:
        stack = [
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(10 / 360, seed=seed + 1, **fill),
            layers.RandomTranslation(0.05, 0.05, seed=seed + 2, **fill),
            layers.RandomZoom(0.1, seed=seed + 3, **fill),
            # Intensity changes work in 0..1 (GaussianNoise only accepts stddev <= 1).
            layers.Rescaling(1 / 255),
            layers.RandomContrast(0.2, value_range=(0, 1), seed=seed + 4),
            layers.RandomBrightness(0.1, value_range=(0, 1), seed=seed + 5),
            layers.GaussianNoise(3 / 255, seed=seed + 6),
            layers.Rescaling(255.0),
        ]
    return keras.Sequential(stack, name=f"augment_{preset}")
