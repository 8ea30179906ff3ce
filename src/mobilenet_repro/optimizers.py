"""Adam and RMSProp with TensorFlow's fused update kernels: the same update, one op per weight.

Keras 3 writes each optimizer's update as about ten element-wise ops per weight tensor. On a
CPU, for networks of many small tensors (MobileNets, Inception V3: 150-400 of them) those ops
dominate: with TensorFlow's fused `ResourceApplyAdam` / `ResourceApplyRMSProp` kernels a
training step of the CIFAR-sized MobileNetV2 takes half the time and tracing the train step
half as long (bench/results/fused_optimizers.json). The kernels compute Keras's formulas
(Adam: Kingma & Ba 2015, with Keras's epsilon outside the square root; RMSProp: Hinton's,
epsilon inside it), which tests/test_optimizers.py checks against Keras's own optimizers.

On another Keras backend, or with amsgrad or centred RMSProp (which the kernels lack), `make`
returns Keras's own optimizer. Weight decay and gradient clipping are applied by Keras before
the update, as with Keras's optimizers.
"""

from __future__ import annotations

import keras


def _tf_backend() -> bool:
    return keras.backend.backend() == "tensorflow"


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose update is TensorFlow's fused kernel (no amsgrad)."""

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        dtype = variable.dtype
        i = self._get_variable_index(variable)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=self._momentums[i].value.handle,
            v=self._velocities[i].value.handle,
            beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class FusedRMSprop(keras.optimizers.RMSprop):
    """keras.optimizers.RMSprop whose update is TensorFlow's fused kernel (not centred)."""

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        if self.momentum == 0:  # the kernel always keeps a momentum slot; at 0 it is unused
            self._momentums = self.add_optimizer_variables(variables, "momentum")

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        dtype = variable.dtype
        i = self._get_variable_index(variable)
        tf.raw_ops.ResourceApplyRMSProp(
            var=variable.handle,
            ms=self._velocities[i].value.handle,
            mom=self._momentums[i].value.handle,
            lr=tf.cast(learning_rate, dtype),
            rho=tf.cast(self.rho, dtype),
            momentum=tf.cast(self.momentum, dtype),
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
        )


def make(name: str, **kwargs) -> keras.optimizers.Optimizer:
    """Adam, RMSprop (fused on TensorFlow) or SGD with Keras's arguments."""
    fused = _tf_backend() and not kwargs.get("amsgrad") and not kwargs.get("centered")
    classes = {
        "adam": FusedAdam if fused else keras.optimizers.Adam,
        "rmsprop": FusedRMSprop if fused else keras.optimizers.RMSprop,
        "sgd": keras.optimizers.SGD,
    }
    return classes[name](**kwargs)
