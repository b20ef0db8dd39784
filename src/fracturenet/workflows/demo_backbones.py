"""Which two backbones the demo compares: VGG16 and ResNet50, or two small CNNs offline."""

from __future__ import annotations

__all__ = ["IMAGENET_PAIR", "OFFLINE_PAIR", "default_backbones"]

#: The demo's backbones when their ImageNet weights are cached (transfer recipe).
IMAGENET_PAIR = ("vgg16", "resnet50")
#: The demo's backbones otherwise: small networks that learn from scratch on a CPU.
OFFLINE_PAIR = ("smallcnn", "smallcnn_tiny")


def default_backbones() -> tuple[str, ...]:
    """The demo's backbones on this machine: :data:`IMAGENET_PAIR` or :data:`OFFLINE_PAIR`.

    Returns:
        VGG16 and ResNet50 when Keras has both of their ImageNet weight files cached,
        SmallCNN and SmallCNN-tiny otherwise.
    """
    from fracturenet.models import imagenet_weights_cached

    return IMAGENET_PAIR if all(map(imagenet_weights_cached, IMAGENET_PAIR)) else OFFLINE_PAIR
