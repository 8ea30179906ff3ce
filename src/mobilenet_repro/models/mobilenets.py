"""MobileNet V1, MobileNetV2 and the CIFAR-10 MobileNetV2 of seed 000.

They follow `keras.applications` layer for layer (same layer names, same padding, same
batch-norm settings), so parameter counts match Keras exactly and ImageNet weights can be
copied across by layer name.

References:
- MobileNet V1: Howard et al., "MobileNets: Efficient Convolutional Neural Networks for
  Mobile Vision Applications", arXiv:1704.04861 (2017).
- MobileNetV2: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
  CVPR 2018, arXiv:1801.04381.
- CIFAR-10 MobileNetV2: seed 000, Tables I-III.
- chenyaofo's CIFAR-10 MobileNetV2: chenyaofo/pytorch-cifar-models, pytorch_cifar_models/
  mobilenetv2.py at 786c162 (torchvision's MobileNetV2 with two strides set to 1).
"""

from __future__ import annotations

import keras
from keras import layers

from mobilenet_repro.models.common import (
    MOBILENET_V1_ALPHAS,
    MOBILENET_V2_ALPHAS,
    ModelConfigError,
    _check_alpha,
    _check_common,
    _correct_pad,
    _load_weights,
    _make_divisible,
    _pool,
)
from mobilenet_repro.models.specs import (
    CHENYAOFO_MOBILENET_V2_BOTTLENECKS,
    CIFAR_MOBILENET_V2_BOTTLENECKS,
    CIFAR_MOBILENET_V2_STEM_FILTERS,
)


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

# The blocks a shallow MobileNet leaves out: the five on 14x14x512 feature maps (stride 1,
# 512 channels in and out), MobileNets paper Sec. 4.1 and Table 5.
MOBILENET_V1_SHALLOW_LEFT_OUT = tuple(
    block_id
    for block_id, (filters, stride) in enumerate(MOBILENET_V1_BODY, start=1)
    if (filters, stride) == (512, 1)
)


def _check_shallow(shallow, weights) -> None:
    if not isinstance(shallow, bool):
        raise ModelConfigError(f"MobileNet: shallow must be True or False; received {shallow!r}")
    if shallow and weights == "imagenet":
        # keras.applications publishes weights for the full network only.
        raise ModelConfigError(
            "MobileNet: no ImageNet weights exist for the shallow network; received "
            "shallow=True with weights='imagenet' (use weights=None or a weights file)"
        )


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
    shallow=False,
):
    """MobileNet V1 (Howard et al. 2017) with width multiplier `alpha`.

    The resolution multiplier of the paper is the input size: `input_shape=(128, 128, 3)` is
    rho = 128/224. Arguments and layer names follow `keras.applications.MobileNet`.

    `shallow=True` builds the paper's "Shallow MobileNet" (Sec. 4.1, Table 5: 2.9 million
    parameters and 307 million mult-adds at 1.0-224): the five depthwise separable blocks on
    14x14x512 feature maps are left out, the paper's alternative to a width multiplier for a
    smaller network. The remaining blocks keep their ids (conv_dw_6 is followed by
    conv_dw_12), so their layers are named as in the full network. No ImageNet weights exist
    for it.
    """
    _check_shallow(shallow, weights)
    input_shape = _check_common("MobileNet", input_shape, include_top, weights, classes, 32)
    _check_alpha("MobileNet", alpha, weights, MOBILENET_V1_ALPHAS)
    if depth_multiplier < 1 or int(depth_multiplier) != depth_multiplier:
        raise ModelConfigError(
            f"MobileNet: depth_multiplier must be a positive integer; received {depth_multiplier!r}"
        )
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    x = _v1_conv_block(inputs, 32, alpha, strides=(2, 2))
    for block_id, (filters, stride) in enumerate(MOBILENET_V1_BODY, start=1):
        if shallow and block_id in MOBILENET_V1_SHALLOW_LEFT_OUT:
            continue
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
    default_name = f"mobilenet{'_shallow' if shallow else ''}_{alpha:0.2f}_{input_shape[0]}"
    model = keras.Model(inputs, x, name=name or default_name)
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


# ------------------------------------------------------- chenyaofo's CIFAR-10 MobileNetV2
def _torchvision_init(model) -> None:
    """Draw the weights as torchvision's MobileNetV2 does (PyTorch's layouts, fan_out modes).

    Convolutions: normal with std sqrt(2 / fan_out), where PyTorch's fan_out of a depthwise
    kernel (C, 1, 3, 3) is 9 C, not Keras's 9; the classifier: normal with std 0.01, zero bias.
    Keras's Glorot default would start the depthwise kernels about sqrt(C) times larger, and
    the calibration run compares its early epochs with the published curve.
    """
    for layer in model._flatten_layers():
        if isinstance(layer, layers.DepthwiseConv2D):
            k1, k2, channels, mult = layer.kernel.shape
            std = (2.0 / (k1 * k2 * channels * mult)) ** 0.5
        elif isinstance(layer, layers.Conv2D):
            k1, k2, _, out = layer.kernel.shape
            std = (2.0 / (k1 * k2 * out)) ** 0.5
        elif isinstance(layer, layers.Dense):
            std = 0.01
            layer.bias.assign(keras.ops.zeros(layer.bias.shape))
        else:
            continue
        layer.kernel.assign(keras.random.normal(layer.kernel.shape, stddev=std))


def ChenyaofoMobileNetV2(
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
    """chenyaofo's CIFAR-10 MobileNetV2 (pytorch-cifar-models), the calibration network.

    torchvision's MobileNetV2 (Sandler et al. 2018) with the stem and the 24-channel stage
    at stride 1, so three stride-2 stages take 32x32 to a 4x4 map; a 1x1 convolution to 1280
    channels (for alpha <= 1), global average pooling, dropout 0.2 and a dense classifier.
    At alpha 0.5 it has 0.70M parameters, as its training log prints. Weights are drawn as
    torchvision draws them (`_torchvision_init`).
    """
    input_shape = _check_common(
        "ChenyaofoMobileNetV2", input_shape, include_top, weights, classes, 8
    )
    _check_alpha("ChenyaofoMobileNetV2", alpha, None, ())
    if weights == "imagenet":
        raise ModelConfigError(
            "ChenyaofoMobileNetV2: no ImageNet weights exist for this architecture; "
            "received weights='imagenet' (use weights=None or a weights file)"
        )
    inputs = input_tensor if input_tensor is not None else keras.Input(shape=input_shape)
    stem = _make_divisible(32 * alpha, 8)
    x = layers.Conv2D(stem, 3, strides=1, padding="same", use_bias=False, name="Conv1")(inputs)
    x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    x = _bottleneck_stack(x, CHENYAOFO_MOBILENET_V2_BOTTLENECKS, alpha, bn_momentum=0.9)
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(0.2, name="dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _pool(x, pooling)
    model = keras.Model(
        inputs, x, name=name or f"chenyaofo_mobilenetv2_{alpha:0.2f}_{input_shape[0]}"
    )
    _torchvision_init(model)
    _load_weights(model, weights, None)
    return model
