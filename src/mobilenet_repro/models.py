"""Model builders: MobileNet V1, MobileNetV2, the CIFAR-10 MobileNetV2 of seed 000, baselines.

The MobileNet builders follow `keras.applications` layer for layer (same layer names, same
padding, same batch-norm settings), so parameter counts match Keras exactly and ImageNet
weights can be copied across by layer name. They are written out here rather than imported
so the report can show, and the mult-adds counter can walk, exactly what is trained.

References:
- MobileNet V1: Howard et al., "MobileNets: Efficient Convolutional Neural Networks for
  Mobile Vision Applications", arXiv:1704.04861 (2017).
- MobileNetV2: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
  CVPR 2018, arXiv:1801.04381.
- CIFAR-10 MobileNetV2: seed 000, Tables I-III.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers

from mobilenet_repro.archspec import (
    ARCH_SPECS,
    CIFAR_MOBILENET_V2_BOTTLENECKS,
    CIFAR_MOBILENET_V2_STEM_FILTERS,
)

WEIGHT_CHOICES = (None, "imagenet")
MOBILENET_V1_ALPHAS = (0.25, 0.50, 0.75, 1.0)
MOBILENET_V2_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)


class ModelConfigError(ValueError):
    """An argument to a builder is outside what the architecture allows."""


def _check_common(name, input_shape, include_top, weights, classes, min_size, default_size=224):
    if weights not in WEIGHT_CHOICES and not (
        isinstance(weights, str) and weights.endswith((".h5", ".weights.h5", ".keras"))
    ):
        raise ModelConfigError(
            f"{name}: weights must be None, 'imagenet' or a path to a weights file; "
            f"received {weights!r}"
        )
    if not isinstance(classes, int) or classes < 1:
        raise ModelConfigError(f"{name}: classes must be a positive integer; received {classes!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ModelConfigError(
            f"{name}: with weights='imagenet' and include_top=True, classes must be 1000; "
            f"received classes={classes}. Use include_top=False and add a head (see "
            "build_classifier) to fine-tune on another label set."
        )
    if input_shape is None:
        input_shape = (default_size, default_size, 3)
    if len(input_shape) != 3:
        raise ModelConfigError(
            f"{name}: input_shape must be (height, width, channels); received {input_shape!r}"
        )
    height, width, channels = input_shape
    if height < min_size or width < min_size:
        raise ModelConfigError(
            f"{name}: input must be at least {min_size}x{min_size}; received {height}x{width}"
        )
    if weights == "imagenet" and channels != 3:
        raise ModelConfigError(
            f"{name}: ImageNet weights need 3 input channels; received {channels}"
        )
    return tuple(input_shape)


def _check_alpha(name, alpha, weights, allowed):
    if not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ModelConfigError(f"{name}: alpha must be a positive number; received {alpha!r}")
    if weights == "imagenet" and alpha not in allowed:
        raise ModelConfigError(
            f"{name}: ImageNet weights exist only for alpha in {allowed}; received {alpha}"
        )


def classifier_top(x, classes, classifier_activation, dropout=None):
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="top_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def _pool(x, pooling):
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    return x


def _correct_pad(inputs, kernel_size):
    """Padding so a stride-2 'valid' convolution matches TF-slim's 'same' output size."""
    size = inputs.shape[1:3]
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size // 2, kernel_size // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def _make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # never round down by more than 10%
        new_v += divisor
    return new_v


def _copy_imagenet_weights(model, reference):
    """Copy weights layer by layer from a keras.applications model with the same layer names."""
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(reference.get_layer(layer.name).get_weights())


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be downloaded or read; the message says where to put them."""


def fetch_imagenet(builder: Callable[[], keras.Model]) -> keras.Model:
    """Run a keras.applications builder with weights='imagenet', explaining a failed download.

    Keras downloads each weights file once to its cache (`$KERAS_HOME/models`, by default
    ~/.keras/models) and checks it there; offline, that is where the file has to be put.
    """
    try:
        return builder()
    except Exception as exc:
        text = str(exc)
        if not (isinstance(exc, OSError) or "URL fetch failure" in text or "hash" in text):
            raise
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        raise WeightsUnavailable(
            f"ImageNet weights could not be obtained: {text}\n"
            "Offline? Download the file at the URL above on a machine with network access "
            f"and place it, unchanged, in {cache}/ (Keras checks its hash when one is "
            "published); or set the model's `weights: null` to train from scratch."
        ) from exc


def load_trusted_model(path: Path | str) -> keras.Model:
    """Load a .keras file with Keras's safe mode: Lambda layers (arbitrary code) are refused."""
    from mobilenet_repro import optimizers  # noqa: F401 - registers FusedAdam for loading

    try:
        return keras.models.load_model(path, safe_mode=True)
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise ValueError(
                f"refusing to load {path}: it contains code (a Lambda layer), which safe mode "
                "does not execute. Only load model files you created; delete this one and "
                "rerun to train it again."
            ) from exc
        raise


# ----------------------------------------------------------------------------- MobileNet V1
def _v1_conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    filters = int(filters * alpha)
    x = layers.Conv2D(
        filters, kernel, padding="same", use_bias=False, strides=strides, name="conv1"
    )(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _v1_depthwise_block(inputs, filters, alpha, depth_multiplier=1, strides=(1, 1), block_id=1):
    """Depthwise 3x3 + BN + ReLU6, then pointwise 1x1 + BN + ReLU6 (V1 paper, Fig. 3)."""
    filters = int(filters * alpha)
    x = inputs
    if strides != (1, 1):
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D(
        (3, 3),
        padding="same" if strides == (1, 1) else "valid",
        depth_multiplier=depth_multiplier,
        strides=strides,
        use_bias=False,
        name=f"conv_dw_{block_id}",
    )(x)
    x = layers.BatchNormalization(name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, name=f"conv_pw_{block_id}")(
        x
    )
    x = layers.BatchNormalization(name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


# (pointwise filters, stride) of the 13 depthwise separable blocks, V1 paper Table 1.
MOBILENET_V1_BODY = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)  # fmt: skip


def MobileNet(
    input_shape=None,
    alpha=1.0,
    depth_multiplier=1,
    dropout=1e-3,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name=None,
):
    """MobileNet V1 (Howard et al. 2017) with width multiplier `alpha`.

    The resolution multiplier of the paper is the input size: `input_shape=(128, 128, 3)` is
    rho = 128/224. Arguments and layer names follow `keras.applications.MobileNet`.
    """
    input_shape = _check_common("MobileNet", input_shape, include_top, weights, classes, 32)
    _check_alpha("MobileNet", alpha, weights, MOBILENET_V1_ALPHAS)
    if depth_multiplier < 1 or int(depth_multiplier) != depth_multiplier:
        raise ModelConfigError(
            f"MobileNet: depth_multiplier must be a positive integer; received {depth_multiplier!r}"
        )
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    x = _v1_conv_block(inputs, 32, alpha, strides=(2, 2))
    for block_id, (filters, stride) in enumerate(MOBILENET_V1_BODY, start=1):
        x = _v1_depthwise_block(
            x, filters, alpha, depth_multiplier, strides=(stride, stride), block_id=block_id
        )
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _pool(x, pooling)
    model = keras.Model(inputs, x, name=name or f"mobilenet_{alpha:0.2f}_{input_shape[0]}")
    _load_weights(
        model,
        weights,
        lambda: keras.applications.MobileNet(
            input_shape=input_shape,
            alpha=alpha,
            depth_multiplier=depth_multiplier,
            include_top=include_top,
            weights="imagenet",
            pooling=pooling,
        ),
    )
    return model


# ----------------------------------------------------------------------------- MobileNetV2
def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id, bn_momentum=0.999):
    """Expand 1x1 -> depthwise 3x3 -> linear project 1x1, residual when shapes match."""
    in_channels = inputs.shape[-1]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(
            expansion * in_channels, 1, padding="same", use_bias=False, name=prefix + "expand"
        )(x)
        x = layers.BatchNormalization(
            epsilon=1e-3, momentum=bn_momentum, name=prefix + "expand_BN"
        )(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_correct_pad(x, 3), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="same" if stride == 1 else "valid",
        name=prefix + "depthwise",
    )(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=bn_momentum, name=prefix + "depthwise_BN")(
        x
    )
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    # Linear bottleneck: no activation after the projection (V2 paper, Sec. 3.2).
    x = layers.Conv2D(
        pointwise_filters, 1, padding="same", use_bias=False, name=prefix + "project"
    )(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=bn_momentum, name=prefix + "project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


# (expansion t, output channels c, repeats n, first stride s), V2 paper Table 2.
MOBILENET_V2_BOTTLENECKS = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)  # fmt: skip


def _bottleneck_stack(x, bottlenecks, alpha, first_block_id=0, bn_momentum=0.999):
    block_id = first_block_id
    for expansion, channels, repeats, stride in bottlenecks:
        for i in range(repeats):
            x = _inverted_res_block(
                x, expansion, stride if i == 0 else 1, alpha, channels, block_id, bn_momentum
            )
            block_id += 1
    return x


def MobileNetV2(
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
    """MobileNetV2 (Sandler et al. 2018) with width multiplier `alpha`.

    Arguments and layer names follow `keras.applications.MobileNetV2`.
    """
    input_shape = _check_common("MobileNetV2", input_shape, include_top, weights, classes, 32)
    _check_alpha("MobileNetV2", alpha, weights, MOBILENET_V2_ALPHAS)
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    first_block_filters = _make_divisible(32 * alpha, 8)
    x = layers.Conv2D(
        first_block_filters, 3, strides=(2, 2), padding="same", use_bias=False, name="Conv1"
    )(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    x = _bottleneck_stack(x, MOBILENET_V2_BOTTLENECKS, alpha)
    # The last 1x1 conv keeps 1280 channels for alpha <= 1 (V2 paper, Sec. 6.1).
    last_block_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_block_filters, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _pool(x, pooling)
    model = keras.Model(inputs, x, name=name or f"mobilenetv2_{alpha:0.2f}_{input_shape[0]}")
    _load_weights(
        model,
        weights,
        lambda: keras.applications.MobileNetV2(
            input_shape=input_shape,
            alpha=alpha,
            include_top=include_top,
            weights="imagenet",
            pooling=pooling,
        ),
    )
    return model


# ------------------------------------------------------------------ CIFAR-10 MobileNetV2
def CifarMobileNetV2(
    input_shape=(32, 32, 3),
    alpha=1.0,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=10,
    classifier_activation="softmax",
    name=None,
):
    """The CIFAR-10 MobileNetV2 of seed 000, Tables I-III.

    Stem: 3x3 convolution, 32 filters, stride 1 (Table I). Body: inverted residual
    bottlenecks (t, c, n, s) = (6,64,4,2), (6,96,3,1), (6,160,3,2), (6,320,1,1) (Table II),
    each with batch norm after every convolution, ReLU6, a linear projection and a residual
    connection where input and output shapes agree. Head: global average pool and a dense
    softmax (Table III). There is no 1x1 conv to 1280 channels: Table III pools the 320
    channels of the last bottleneck directly.
    """
    input_shape = _check_common("CifarMobileNetV2", input_shape, include_top, weights, classes, 8)
    _check_alpha("CifarMobileNetV2", alpha, None, ())
    if weights == "imagenet":
        raise ModelConfigError(
            "CifarMobileNetV2: no ImageNet weights exist for this architecture; "
            "received weights='imagenet' (use weights=None or a weights file)"
        )
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    stem = _make_divisible(CIFAR_MOBILENET_V2_STEM_FILTERS * alpha, 8)
    x = layers.Conv2D(stem, 3, strides=1, padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.99, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    # block ids start at 1 so that the first block has its expansion layer (t = 6).
    x = _bottleneck_stack(
        x, CIFAR_MOBILENET_V2_BOTTLENECKS, alpha, first_block_id=1, bn_momentum=0.99
    )
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _pool(x, pooling)
    model = keras.Model(inputs, x, name=name or f"cifar_mobilenetv2_{alpha:0.2f}_{input_shape[0]}")
    _load_weights(model, weights, None)
    return model


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


def copy_weights_in_order(model, reference):
    """Copy weights layer by layer in build order (the layers' names differ, not their order)."""
    own = [layer for layer in model.layers if layer.weights]
    theirs = [layer for layer in reference.layers if layer.weights]
    if len(own) != len(theirs):
        raise ValueError(f"{len(own)} weighted layers here, {len(theirs)} in {reference.name}")
    for mine, ref in zip(own, theirs, strict=True):
        mine.set_weights(ref.get_weights())


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


def _load_weights(model, weights, reference_builder: Callable[[], keras.Model] | None):
    if weights is None:
        return
    if weights == "imagenet":
        # keras.applications owns the official URLs and pinned hashes of these files.
        _copy_imagenet_weights(model, fetch_imagenet(reference_builder))
    else:
        model.load_weights(weights)


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


@dataclass(frozen=True)
class Architecture:
    """How to build one architecture and what it needs."""

    builder: Callable[..., keras.Model]
    label: str  # name used in tables
    min_resolution: int
    has_alpha: bool
    imagenet_preprocess: str  # keras.applications module whose preprocess_input fits


ARCHITECTURES: dict[str, Architecture] = {
    name: Architecture(
        globals()[spec.builder],
        spec.label,
        spec.min_resolution,
        spec.has_alpha,
        spec.imagenet_preprocess,
    )
    for name, spec in ARCH_SPECS.items()
}


def build_classifier(
    arch: str,
    classes: int,
    resolution: int,
    alpha: float = 1.0,
    weights: str | None = None,
    freeze_base: bool = False,
    dropout: float = 0.0,
    channels: int = 3,
) -> keras.Model:
    """A ready-to-train classifier.

    From scratch (`weights=None`) this is the architecture's own top at `classes` outputs, so
    its parameter count is the one the papers and Keras report. With pretrained weights it is
    the convolutional base (optionally frozen, seed 001's transfer-learning setup) followed by
    global average pooling, dropout and a new dense softmax layer.
    """
    if arch not in ARCHITECTURES:
        raise ModelConfigError(
            f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}"
        )
    spec = ARCHITECTURES[arch]
    shape = (resolution, resolution, channels)
    kwargs = {"alpha": alpha} if spec.has_alpha else {}
    if weights is None:
        if freeze_base:
            raise ModelConfigError(
                f"{arch}: freeze_base=True needs pretrained weights; received weights=None"
            )
        return spec.builder(input_shape=shape, weights=None, classes=classes, **kwargs)
    base = spec.builder(input_shape=shape, weights=weights, include_top=False, **kwargs)
    base.trainable = not freeze_base
    inputs = keras.Input(shape=shape)
    # training=False keeps a frozen base's batch-norm statistics fixed while fine-tuning.
    x = base(inputs, training=False) if freeze_base else base(inputs)
    outputs = classifier_top(x, classes, "softmax", dropout)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")
