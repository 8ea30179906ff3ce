"""Fused batch norm (mobilenet_repro.training.fused_bn) computes what Keras's own batch norm does.

Per layer the two agree to float32 rounding (outputs, every gradient, moving statistics).
Through a whole network the gradients then differ by rounding amplified over ~50 layers, so
the network check is the forward loss of the first step.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from mobilenet_repro.models.catalog import CifarMobileNetV2
from mobilenet_repro.training.fused_bn import use_fused_batch_norm


def _bn_step(fused: bool, x, upstream):
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, keras.layers.BatchNormalization(momentum=0.9)(inputs))
    if fused:
        assert use_fused_batch_norm(model) == 1
    bn = model.layers[-1]
    bn.gamma.assign(np.linspace(0.5, 1.5, x.shape[-1]).astype("float32"))
    bn.beta.assign(np.linspace(-1.0, 1.0, x.shape[-1]).astype("float32"))
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x, training=True)
        loss = tf.reduce_sum(y * upstream)
    grads = tape.gradient(loss, [x, bn.gamma, bn.beta])
    return [y, *grads, bn.moving_mean, bn.moving_variance]


@pytest.mark.parametrize("scale", [1.0, 0.01])  # 0.01: variance near epsilon
def test_one_layer_agrees_to_float_rounding(scale):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(16, 4, 4, 24)) * scale + 0.3).astype("float32")
    upstream = rng.normal(size=x.shape).astype("float32")
    ref, fused = _bn_step(False, x, upstream), _bn_step(True, x, upstream)
    for name, a, b in zip(("y", "dx", "dgamma", "dbeta", "mean", "var"), fused, ref, strict=True):
        a, b = np.asarray(a), np.asarray(b)
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5 * np.abs(b).max(), err_msg=name)


def test_whole_network_first_loss_equal_and_layers_counted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 32, 32, 3)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 10, 16), 10)
    losses = []
    for fused in (False, True):
        keras.utils.set_random_seed(3)
        model = CifarMobileNetV2(input_shape=(32, 32, 3), alpha=0.25, classes=10)
        if fused:
            n_bn = sum(isinstance(la, keras.layers.BatchNormalization) for la in model.layers)
            assert use_fused_batch_norm(model) == n_bn > 0
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy")
        losses.append(float(model.train_on_batch(x, y)))
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
