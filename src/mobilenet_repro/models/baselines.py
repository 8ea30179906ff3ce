"""The baselines: Inception V3 and VGG16 written out with a width multiplier (equal to
`keras.applications` at 1.0), and Keras's ResNet50 V2 behind the same signature."""

from __future__ import annotations

import keras
from keras import layers

from mobilenet_repro.models.common import (
    ModelConfigError,
    _check_alpha,
    _check_common,
    _load_weights,
    _pool,
    copy_weights_in_order,
    fetch_imagenet,
)


# -------------------------------------------------------------------------- baselines
def _width(filters, alpha):
    """Channels of a layer under width multiplier `alpha` (at least one)."""
    return max(1, int(filters * alpha))


def _conv_bn(x, filters, kernel, name, strides=(1, 1), padding="same"):
    """Inception V3's unit: convolution without bias, batch norm without scale, ReLU."""
    x = layers.Conv2D(
        filters, kernel, strides=strides, padding=padding, use_bias=False, name=f"{name}_conv"
    )(x)
    x = layers.BatchNormalization(axis=-1, scale=False, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


# Inception V3's blocks (Szegedy et al., Fig. 5-7 and Table 1), as in keras.applications:
# per block, its branches; per branch, (filters, kernel rows, kernel cols, stride) of each
# convolution, stride 2 meaning 'valid' padding. "avg"/"max" open a pooling branch.
def _block_a(pool_filters):  # Fig. 5: 1x1, 5x5, double 3x3 and pooling branches
    return (
        ((64, 1, 1, 1),),
        ((48, 1, 1, 1), (64, 5, 5, 1)),
        ((64, 1, 1, 1), (96, 3, 3, 1), (96, 3, 3, 1)),
        ("avg", (pool_filters, 1, 1, 1)),
    )


def _block_c(c):  # Fig. 6: 7x7 factorised into 1x7 and 7x1, with c channels inside
    return (
        ((192, 1, 1, 1),),
        ((c, 1, 1, 1), (c, 1, 7, 1), (192, 7, 1, 1)),
        ((c, 1, 1, 1), (c, 7, 1, 1), (c, 1, 7, 1), (c, 7, 1, 1), (192, 1, 7, 1)),
        ("avg", (192, 1, 1, 1)),
    )


INCEPTION_V3_BLOCKS = (
    _block_a(32),
    _block_a(64),
    _block_a(64),
    (((384, 3, 3, 2),), ((64, 1, 1, 1), (96, 3, 3, 1), (96, 3, 3, 2)), ("max",)),
    _block_c(128),
    _block_c(160),
    _block_c(160),
    _block_c(192),
    (
        ((192, 1, 1, 1), (320, 3, 3, 2)),
        ((192, 1, 1, 1), (192, 1, 7, 1), (192, 7, 1, 1), (192, 3, 3, 2)),
        ("max",),
    ),
)


def _inception_branch(x, branch, alpha, name):
    layers_ = list(branch)
    if layers_ and isinstance(layers_[0], str):
        pool = layers_.pop(0)
        if pool == "avg":
            x = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
        else:
            x = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    for k, (filters, rows, cols, stride) in enumerate(layers_):
        x = _conv_bn(
            x,
            _width(filters, alpha),
            (rows, cols),
            f"{name}_{k}",
            strides=(stride, stride),
            padding="valid" if stride == 2 else "same",
        )
    return x


def _inception_e_block(x, alpha, name):
    """Fig. 7's block with expanded filter bank outputs (mixed9, mixed10)."""

    def split(y, filters, part):
        return layers.concatenate(
            [
                _conv_bn(y, _width(filters, alpha), (1, 3), f"{name}_{part}_1x3"),
                _conv_bn(y, _width(filters, alpha), (3, 1), f"{name}_{part}_3x1"),
            ],
            name=f"{name}_{part}",
        )

    b1 = _conv_bn(x, _width(320, alpha), (1, 1), f"{name}_b0_0")
    b2 = split(_conv_bn(x, _width(384, alpha), (1, 1), f"{name}_b1_0"), 384, "b1")
    b3 = _conv_bn(x, _width(448, alpha), (1, 1), f"{name}_b2_0")
    b3 = split(_conv_bn(b3, _width(384, alpha), (3, 3), f"{name}_b2_1"), 384, "b2")
    b4 = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_b3_pool")(x)
    b4 = _conv_bn(b4, _width(192, alpha), (1, 1), f"{name}_b3_0")
    return layers.concatenate([b1, b2, b3, b4], name=name)


def InceptionV3(
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """Inception V3 (Szegedy et al., "Rethinking the Inception Architecture for Computer
    Vision", CVPR 2016, arXiv:1512.00567) with a width multiplier `alpha` on every layer.

    At alpha 1.0 it is `keras.applications.InceptionV3` layer for layer (same parameter count;
    ImageNet weights are copied across in layer order). Smaller alphas give the miniature
    baselines of the default configuration; the paper has no width multiplier.
    """
    input_shape = _check_common(
        "InceptionV3", input_shape, include_top, weights, classes, 75, default_size=299
    )
    _check_alpha("InceptionV3", alpha, weights, (1.0,))
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    x = _conv_bn(inputs, _width(32, alpha), (3, 3), "stem_0", strides=(2, 2), padding="valid")
    x = _conv_bn(x, _width(32, alpha), (3, 3), "stem_1", padding="valid")
    x = _conv_bn(x, _width(64, alpha), (3, 3), "stem_2")
    x = layers.MaxPooling2D(3, strides=2, name="stem_pool_0")(x)
    x = _conv_bn(x, _width(80, alpha), (1, 1), "stem_3", padding="valid")
    x = _conv_bn(x, _width(192, alpha), (3, 3), "stem_4", padding="valid")
    x = layers.MaxPooling2D(3, strides=2, name="stem_pool_1")(x)
    for i, block in enumerate(INCEPTION_V3_BLOCKS):
        branches = [_inception_branch(x, b, alpha, f"mixed{i}_b{j}") for j, b in enumerate(block)]
        x = layers.concatenate(branches, name=f"mixed{i}")
    for i in (9, 10):
        x = _inception_e_block(x, alpha, f"mixed{i}")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _pool(x, pooling)
    model = keras.Model(inputs, x, name=name or f"inception_v3_{alpha:0.2f}_{input_shape[0]}")
    if weights == "imagenet":
        reference = fetch_imagenet(
            lambda: keras.applications.InceptionV3(
                input_shape=input_shape,
                include_top=include_top,
                weights="imagenet",
                pooling=pooling,
            )
        )
        copy_weights_in_order(model, reference)
    elif weights is not None:
        model.load_weights(weights)
    return model


# (convolutions, filters) of VGG16's five blocks: Simonyan & Zisserman, Table 1, column D.
VGG16_BLOCKS = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))


def VGG16(
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """VGG16 (Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
    Recognition", ICLR 2015, arXiv:1409.1556, configuration D) with a width multiplier `alpha`
    on every convolution and fully connected layer.

    At alpha 1.0 it is `keras.applications.VGG16` (same layer names, same parameter count;
    ImageNet weights copied by name). The paper has no width multiplier: smaller alphas are
    the miniature baselines of the default configuration.
    """
    input_shape = _check_common("VGG16", input_shape, include_top, weights, classes, 32)
    _check_alpha("VGG16", alpha, weights, (1.0,))
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    x = inputs
    for b, (convs, filters) in enumerate(VGG16_BLOCKS, start=1):
        for c in range(1, convs + 1):
            conv = layers.Conv2D(
                _width(filters, alpha),
                3,
                padding="same",
                activation="relu",
                name=f"block{b}_conv{c}",
            )
            x = conv(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(_width(4096, alpha), activation="relu", name="fc1")(x)
        x = layers.Dense(_width(4096, alpha), activation="relu", name="fc2")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _pool(x, pooling)
    model = keras.Model(inputs, x, name=name or f"vgg16_{alpha:0.2f}_{input_shape[0]}")
    _load_weights(
        model,
        weights,
        lambda: keras.applications.VGG16(
            input_shape=input_shape, include_top=include_top, weights="imagenet", pooling=pooling
        ),
    )
    return model


def ResNet50V2(
    input_shape=None,
    alpha=1.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """`keras.applications.ResNet50V2` (He et al., "Identity Mappings in Deep Residual
    Networks", ECCV 2016) behind the common builder signature; it has no width multiplier."""
    input_shape = _check_common("ResNet50V2", input_shape, include_top, weights, classes, 32)
    if alpha != 1.0:
        raise ModelConfigError(f"ResNet50V2: has no width multiplier; received alpha={alpha}")
    kwargs = dict(
        include_top=include_top,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
    )
    if weights == "imagenet":
        return fetch_imagenet(lambda: keras.applications.ResNet50V2(weights="imagenet", **kwargs))
    model = keras.applications.ResNet50V2(weights=None, **kwargs)
    if weights is not None:
        model.load_weights(weights)
    return model
