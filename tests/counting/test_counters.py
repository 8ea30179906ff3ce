"""The mult-adds counter on layers whose cost can be worked out by hand."""

from __future__ import annotations

import math

import keras
import pytest
from keras import layers

from mobilenet_repro.counting.counters import (
    count_layers,
    count_mult_adds,
    count_params,
    param_readings,
    separable_cost_ratios,
)


def one_layer(shape, layer):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


def only(model):
    costs = [c for c in count_layers(model) if c.kind not in ("batch_norm", "other")]
    assert len(costs) == 1
    return costs[0]


def test_standard_3x3_convolution():
    # 8x8 output, 4 filters, each a dot product over 3x3x3 inputs.
    c = only(one_layer((8, 8, 3), layers.Conv2D(4, 3, padding="same")))
    assert (c.kind, c.kernel, c.strides) == ("conv", "3x3", "1x1")
    assert c.mult_adds == 8 * 8 * 4 * 3 * 3 * 3 == 6912
    assert c.params == 3 * 3 * 3 * 4 + 4


def test_strided_valid_convolution_counts_output_positions():
    # 9x9 input, 3x3 kernel, stride 2, no padding: 4x4 output positions.
    c = only(one_layer((9, 9, 2), layers.Conv2D(5, 3, strides=2)))
    assert c.output_shape == (4, 4, 5)
    assert c.mult_adds == 4 * 4 * 5 * 3 * 3 * 2


def test_depthwise_convolution():
    # One 3x3 filter per channel (V1 paper, Eq. 3): D_K^2 * M * D_F^2.
    c = only(one_layer((8, 8, 5), layers.DepthwiseConv2D(3, padding="same", use_bias=False)))
    assert c.kind == "depthwise"
    assert c.mult_adds == 3 * 3 * 5 * 8 * 8 == 2880
    assert c.params == 3 * 3 * 5


def test_depthwise_with_depth_multiplier():
    c = only(one_layer((8, 8, 5), layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)))
    assert c.mult_adds == 3 * 3 * 10 * 8 * 8


def test_pointwise_convolution():
    c = only(one_layer((8, 8, 5), layers.Conv2D(7, 1, use_bias=False)))
    assert c.kind == "pointwise"
    assert c.mult_adds == 5 * 7 * 8 * 8 == 2240


def test_dense_layer():
    c = only(one_layer((16,), layers.Dense(10)))
    assert c.kind == "dense"
    assert c.mult_adds == 16 * 10
    assert c.params == 16 * 10 + 10


def test_1x1_convolution_after_global_pooling_is_the_papers_fc_layer():
    # keras.applications.MobileNet's classifier is such a convolution (conv_preds).
    inputs = keras.Input((7, 7, 16))
    x = layers.GlobalAveragePooling2D(keepdims=True)(inputs)
    x = layers.Dropout(0.1)(x)
    c = only(keras.Model(inputs, layers.Conv2D(10, 1)(x)))
    assert c.kind == "dense"
    assert c.mult_adds == 16 * 10


def test_1x1_convolution_on_a_small_feature_map_stays_pointwise():
    # At 32x32 input, MobileNet's last blocks see 1x1 maps; they are still pointwise.
    c = only(one_layer((1, 1, 16), layers.Conv2D(10, 1)))
    assert c.kind == "pointwise"


def test_grouped_convolution():
    c = only(one_layer((8, 8, 4), layers.Conv2D(8, 3, padding="same", groups=2)))
    assert c.mult_adds == 8 * 8 * 8 * 3 * 3 * 2


def test_separable_conv_layer():
    c = only(one_layer((8, 8, 4), layers.SeparableConv2D(6, 3, padding="same")))
    assert c.kind == "separable"
    assert c.mult_adds == 8 * 8 * 4 * 3 * 3 + 8 * 8 * 4 * 6


def test_batch_norm_activations_pooling_cost_nothing():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, x)
    kinds = {c.kind: c.mult_adds for c in count_layers(model)}
    assert kinds == {"conv": 8 * 8 * 4 * 27, "batch_norm": 0}
    assert count_mult_adds(model) == 8 * 8 * 4 * 27


def test_parameter_readings():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(2)(x))
    kernel, bn, dense = 3 * 3 * 3 * 4, 4 * 4, 4 * 2 + 2
    assert count_params(model) == (kernel + bn + dense, kernel + bn // 2 + dense)
    assert param_readings(model) == {
        "params": kernel + bn + dense,
        "trainable_params": kernel + 2 * 4 + dense,
        "params_bn_folded": kernel + 4 + dense,  # BN folds into one bias per channel
        "kernel_params": kernel + 4 * 2,
        # A bias instead of the batch norm after an ordinary convolution (TF checkpoints).
        "params_bn_depthwise_only": kernel + 4 + dense,
    }


def test_batch_norm_after_a_depthwise_convolution_is_kept_in_checkpoint_counts():
    inputs = keras.Input((8, 8, 3))
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Conv2D(4, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    model = keras.Model(inputs, x)
    depthwise, pointwise = 3 * 3 * 3, 3 * 4
    # batch norm after the depthwise kept whole (4 x 3), after the pointwise one bias (4)
    assert param_readings(model)["params_bn_depthwise_only"] == depthwise + 12 + pointwise + 4


def test_nested_models_are_walked():
    base = one_layer((8, 8, 3), layers.Conv2D(4, 3, padding="same"))
    inputs = keras.Input((8, 8, 3))
    x = layers.GlobalAveragePooling2D()(base(inputs))
    model = keras.Model(inputs, layers.Dense(2)(x))
    assert count_mult_adds(model) == 8 * 8 * 4 * 27 + 4 * 2


def separable_pair(shape, n, k=3, strides=1):
    """V1's block: (pad) depthwise k x k, BN, ReLU6, pointwise to n channels, BN, ReLU6."""
    inputs = keras.Input(shape)
    x = inputs
    if strides == 2:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = layers.DepthwiseConv2D(
        k, strides, padding="same" if strides == 1 else "valid", use_bias=False
    )(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    x = layers.Conv2D(n, 1, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return keras.Model(inputs, layers.ReLU(6.0)(x))


@pytest.mark.parametrize(
    "shape,n,k,strides",
    [
        ((8, 8, 16), 32, 3, 1),
        ((8, 8, 16), 32, 3, 2),
        ((12, 12, 8), 24, 5, 1),
        ((7, 7, 1024), 1024, 3, 1),
    ],
)
def test_separable_ratio_is_1_over_n_plus_1_over_dk_squared(shape, n, k, strides):
    (row,) = separable_cost_ratios(separable_pair(shape, n, k, strides))
    m = shape[-1]
    out = shape[0] if strides == 1 else shape[0] // 2
    assert row["separable_mult_adds"] == k * k * m * out * out + m * n * out * out
    assert row["standard_mult_adds"] == k * k * m * n * out * out
    assert math.isclose(row["measured_ratio"], 1 / n + 1 / k**2, rel_tol=1e-12)
    assert row["expected_ratio"] == 1 / n + 1 / k**2


def test_seed_004_worked_example():
    # Seed 004, Sec. 3.5: N = 1024, D_K = 3 gives 0.112, about 9x fewer multiplications.
    (row,) = separable_cost_ratios(separable_pair((7, 7, 1024), 1024))
    assert round(row["measured_ratio"], 3) == 0.112


def test_separable_conv_layer_is_a_pair_by_itself():
    model = one_layer((8, 8, 4), layers.SeparableConv2D(6, 3, padding="same"))
    (row,) = separable_cost_ratios(model)
    assert math.isclose(row["measured_ratio"], 1 / 6 + 1 / 9, rel_tol=1e-12)


def test_depthwise_not_followed_by_pointwise_is_no_pair():
    inputs = keras.Input((8, 8, 4))
    x = layers.DepthwiseConv2D(3, padding="same")(inputs)
    model = keras.Model(inputs, layers.Conv2D(4, 3, padding="same")(x))
    assert separable_cost_ratios(model) == []


def test_every_pair_of_mobilenet_v1_matches_the_formula():
    from mobilenet_repro.models.catalog import MobileNet

    with keras.StatelessScope(initialize_variables=False):
        model = MobileNet(input_shape=(32, 32, 3), alpha=0.25)
    rows = separable_cost_ratios(model)
    assert len(rows) == 13  # the 13 depthwise separable blocks of the V1 paper's Table 1
    for r in rows:
        assert math.isclose(r["measured_ratio"], r["expected_ratio"], rel_tol=1e-12)
