"""Batch norm through TensorFlow's fused kernel while training: same computation, less time.

Keras 3 computes `BatchNormalization` on the TensorFlow backend from separate ops (the
moments, then the normalisation), each a pass over the activations, forward and backward.
TensorFlow's FusedBatchNormV3 (oneDNN on x86 CPUs) does each direction in one kernel.
`use_fused_batch_norm(model)` makes every eligible batch-norm layer of a built model use it in
training. The layers keep their class, weights, configuration and update rule (moving
statistics from the biased batch variance, as Keras does), so saved files are plain Keras and
inference is unchanged. Measured effect: studies/throughput.py, README "Performance".
"""

from __future__ import annotations

import types

import keras

MIN_EPSILON = 1.001e-5  # TensorFlow's fused kernel raises smaller epsilons to this


def _eligible(layer, inputs, training, mask) -> bool:
    return (
        training is True
        and layer.trainable
        and mask is None
        and not layer.renorm
        and not layer.synchronized
        and layer.epsilon >= MIN_EPSILON
        and len(inputs.shape) == 4
        and layer.axis in (-1, 3)
        and keras.backend.standardize_dtype(inputs.dtype) == "float32"
    )


def _fused_call(self, inputs, training=None, mask=None):
    if not _eligible(self, inputs, training, mask):
        return type(self).call(self, inputs, training=training, mask=mask)
    import tensorflow as tf

    channels = inputs.shape[-1]
    gamma = self.gamma if self.scale else tf.ones([channels], inputs.dtype)
    beta = self.beta if self.center else tf.zeros([channels], inputs.dtype)
    outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        inputs, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
    )
    # The kernel normalises with the biased batch variance but returns the unbiased one;
    # Keras updates its moving variance with the biased one.
    n = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), inputs.dtype)
    variance = variance * tf.maximum(n - 1.0, 0.0) / n
    m = self.momentum
    self.moving_mean.assign(self.moving_mean * m + mean * (1.0 - m))
    self.moving_variance.assign(self.moving_variance * m + variance * (1.0 - m))
    return outputs


def _layers(model):
    yield from model._flatten_layers(include_self=False)


def use_fused_batch_norm(model) -> int:
    """Route the batch-norm layers of `model` through the fused kernel in training.

    Only on the TensorFlow backend; returns how many layers now use it.
    """
    if keras.backend.backend() != "tensorflow":
        return 0
    count = 0
    for layer in _layers(model):
        if type(layer) is keras.layers.BatchNormalization:
            layer.call = types.MethodType(_fused_call, layer)
            count += 1
    return count
