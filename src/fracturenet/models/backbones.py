"""The built-in backbones, registered by :func:`register_builtin_backbones`.

The registry calls :func:`register_builtin_backbones` once, the first time it is read.
Preprocessing modes were checked against each ``keras.applications`` module's
``preprocess_input``: EfficientNet(V2), MobileNetV3 and ConvNeXt rescale inside the Keras
model (``include_preprocessing=True``), so their mode is ``"none"``.
"""

from __future__ import annotations

__all__ = ["register_builtin_backbones"]

_GCS = "https://storage.googleapis.com/tensorflow/keras-applications/"


def register_builtin_backbones() -> None:
    """Registers the backbones fracturenet ships with (called once by the registry).

    Example:
        >>> from fracturenet.models import list_backbones
        >>> len(list_backbones()) >= 12
        True
    """
    import keras

    from fracturenet.models.registry import BackboneSpec, register_backbone
    from fracturenet.models.small_cnn import TINY_WIDTHS, SmallCNN

    apps = keras.applications
    resnet_blocks = ("conv1_", "conv2_", "conv3_", "conv4_", "conv5_")

    def caffe_file(stem: str, folder: str) -> dict[str, str]:
        file = f"{stem}_weights_tf_dim_ordering_tf_kernels_notop.h5"
        return {"weights_file": file, "weights_url": f"{_GCS}{folder}/{file}"}

    specs = [
        BackboneSpec(
            name="vgg16",
            constructor=apps.VGG16,
            preprocessing="caffe",
            default_input_size=224,
            min_input_size=32,
            cam_layer="block5_conv3",
            blocks=("block1_", "block2_", "block3_", "block4_", "block5_"),
            **caffe_file("vgg16", "vgg16"),
        ),
        BackboneSpec(
            name="vgg19",
            constructor=apps.VGG19,
            preprocessing="caffe",
            default_input_size=224,
            min_input_size=32,
            cam_layer="block5_conv4",
            blocks=("block1_", "block2_", "block3_", "block4_", "block5_"),
            **caffe_file("vgg19", "vgg19"),
        ),
        BackboneSpec(
            name="resnet50",
            constructor=apps.ResNet50,
            preprocessing="caffe",
            default_input_size=224,
            min_input_size=32,
            cam_layer="conv5_block3_out",
            blocks=resnet_blocks,
            **caffe_file("resnet50", "resnet"),
        ),
        BackboneSpec(
            name="resnet101",
            constructor=apps.ResNet101,
            preprocessing="caffe",
            default_input_size=224,
            min_input_size=32,
            cam_layer="conv5_block3_out",
            blocks=resnet_blocks,
            **caffe_file("resnet101", "resnet"),
        ),
        BackboneSpec(
            name="resnet50v2",
            constructor=apps.ResNet50V2,
            preprocessing="tf",
            default_input_size=224,
            min_input_size=32,
            cam_layer="post_relu",
            blocks=resnet_blocks,
            **caffe_file("resnet50v2", "resnet"),
        ),
        BackboneSpec(
            name="densenet121",
            constructor=apps.DenseNet121,
            preprocessing="torch",
            default_input_size=224,
            min_input_size=32,
            cam_layer="relu",
            blocks=resnet_blocks,
            **caffe_file("densenet121", "densenet"),
        ),
        BackboneSpec(
            name="efficientnetb0",
            constructor=apps.EfficientNetB0,
            preprocessing="none",
            default_input_size=224,
            min_input_size=32,
            cam_layer="top_activation",
            blocks=("stem_", *(f"block{i}" for i in range(1, 8)), "top_"),
            weights_file="efficientnetb0_notop.h5",
            weights_url="https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
        ),
        BackboneSpec(
            name="efficientnetv2s",
            constructor=apps.EfficientNetV2S,
            preprocessing="none",
            default_input_size=384,
            min_input_size=32,
            cam_layer="top_activation",
            blocks=("stem_", *(f"block{i}" for i in range(1, 7)), "top_"),
            weights_file="efficientnetv2-s_notop.h5",
            weights_url=f"{_GCS}efficientnet_v2/efficientnetv2-s_notop.h5",
            constructor_kwargs=(("include_preprocessing", True),),
        ),
        BackboneSpec(
            # The last activation is auto-named, hence the factory's "backbone_features".
            name="mobilenetv3large",
            constructor=apps.MobileNetV3Large,
            preprocessing="none",
            default_input_size=224,
            min_input_size=32,
            cam_layer="backbone_features",
            blocks=(
                "conv",
                "expanded_conv_",
                *(f"expanded_conv_{i}_" for i in range(1, 15)),
                "conv_1",
            ),
            weights_file="weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
            weights_url=f"{_GCS}mobilenet_v3/weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
            constructor_kwargs=(("include_preprocessing", True),),
        ),
        BackboneSpec(
            # Stage outputs and the final LayerNormalization are auto-named, and Keras builds
            # the stem/downsampling stages as small nested Sequential layers.
            name="convnext_tiny",
            constructor=apps.ConvNeXtTiny,
            preprocessing="none",
            default_input_size=224,
            min_input_size=32,
            cam_layer="backbone_features",
            blocks=(
                "convnext_tiny_stem",
                "convnext_tiny_stage_0",
                "convnext_tiny_downsampling_block_0",
                "convnext_tiny_downsampling_block_1",
                "convnext_tiny_downsampling_block_2",
            ),
            weights_file="convnext_tiny_notop.h5",
            weights_url=f"{_GCS}convnext/convnext_tiny_notop.h5",
            constructor_kwargs=(("include_preprocessing", True),),
        ),
        BackboneSpec(
            name="xception",
            constructor=apps.Xception,
            preprocessing="tf",
            default_input_size=299,
            min_input_size=71,
            cam_layer="block14_sepconv2_act",
            blocks=tuple(f"block{i}_" for i in range(1, 15)),
            **caffe_file("xception", "xception"),
        ),
        BackboneSpec(
            # Inception modules start with auto-named convs; mixedN is each module's end.
            name="inceptionv3",
            constructor=apps.InceptionV3,
            preprocessing="tf",
            default_input_size=299,
            min_input_size=75,
            cam_layer="mixed10",
            blocks=tuple(f"mixed{i}" for i in range(11)),
            block_boundary="end",
            weights_file="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            weights_url=f"{_GCS}inception_v3/"
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        ),
    ]
    # no ImageNet weights: trained from scratch or from a file of one's own; the tiny one has
    # a quarter of smallcnn's weights and compute (the offline demo's second model)
    for name, kwargs in (
        ("smallcnn", ()),
        ("smallcnn_tiny", (("widths", TINY_WIDTHS), ("name", "small_cnn_tiny"))),
    ):
        specs.append(
            BackboneSpec(
                name=name,
                constructor=SmallCNN,
                preprocessing="tf",
                default_input_size=128,
                min_input_size=8,
                cam_layer="block3_relu2",
                blocks=("block1_", "block2_", "block3_"),
                constructor_kwargs=kwargs,
            )
        )
    for spec in specs:
        register_backbone(spec)
