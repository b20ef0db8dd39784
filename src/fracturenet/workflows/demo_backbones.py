"""Which two backbones the demo compares, and where their weights came from.

With both ImageNet files at hand the demo compares VGG16 and ResNet50 (the transfer recipe).
With one of them it compares that backbone, pretrained, against :data:`SCRATCH_REFERENCE`
trained from random weights, so the demo never silently drops to two networks from scratch
while pretrained weights sit in the cache. With none, it compares two small CNNs from
scratch. A missing file is downloaded first when the host is reachable (Keras shows the
progress) unless ``download=False`` or ``FRACTURENET_OFFLINE`` is set.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "IMAGENET_PAIR",
    "OFFLINE_PAIR",
    "SCRATCH_REFERENCE",
    "default_backbones",
    "weights_availability",
]

#: The demo's backbones when their ImageNet weights are cached (transfer recipe).
IMAGENET_PAIR = ("vgg16", "resnet50")
#: The demo's backbones otherwise: small networks that learn from scratch on a CPU.
OFFLINE_PAIR = ("smallcnn", "smallcnn_tiny")
#: What a lone pretrained backbone is compared with: the from-scratch reference.
SCRATCH_REFERENCE = "smallcnn"


def weights_availability(
    download: bool = True, log: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Makes the ImageNet files of :data:`IMAGENET_PAIR` available where it can.

    Args:
        download: Download a file that is not cached when the host can be reached (Keras
            prints the progress). Defaults to `True`. ``FRACTURENET_OFFLINE=1`` also stops it.
        log: Where to say what happened to each file. Defaults to `None` (silent).

    Returns:
        ``{backbone: "cached" | "downloaded" | reason it is unavailable}``.
    """
    from fracturenet.exceptions import WeightsUnavailableError
    from fracturenet.models import imagenet_weights_cached, imagenet_weights_path
    from fracturenet.models.registry import get_backbone
    from fracturenet.models.weights import _resolve_imagenet_weights

    status = {}
    for backbone in IMAGENET_PAIR:
        if imagenet_weights_cached(backbone):
            status[backbone] = "cached"
        elif not download:
            status[backbone] = f"not cached at {imagenet_weights_path(backbone)} (no download)"
        else:
            try:
                _resolve_imagenet_weights(get_backbone(backbone))
                status[backbone] = "downloaded"
            except WeightsUnavailableError as err:
                why = str(err).split(". Download")[0]
                status[backbone] = why.split("are not available: ", 1)[-1]
        if log is not None:
            log(f"ImageNet weights for {backbone}: {status[backbone]}")
    return status


def default_backbones(download: bool = False, log: Callable[[str], None] | None = None
                      ) -> tuple[str, ...]:  # fmt: skip
    """The demo's backbones on this machine.

    Args:
        download: Try to download missing ImageNet files first (see
            :func:`weights_availability`). Defaults to `False`: only the cache is looked at.
        log: Where to say what happened to each file. Defaults to `None`.

    Returns:
        :data:`IMAGENET_PAIR` when both ImageNet files are available; the available one and
        :data:`SCRATCH_REFERENCE` when only one is; :data:`OFFLINE_PAIR` otherwise.

    Example:
        >>> default_backbones() in {IMAGENET_PAIR, OFFLINE_PAIR,
        ...                         ("vgg16", "smallcnn"), ("resnet50", "smallcnn")}
        True
    """
    status = weights_availability(download=download, log=log)
    ready = tuple(b for b in IMAGENET_PAIR if status[b] in ("cached", "downloaded"))
    if len(ready) == len(IMAGENET_PAIR):
        return IMAGENET_PAIR
    if ready:
        return (ready[0], SCRATCH_REFERENCE)
    return OFFLINE_PAIR
