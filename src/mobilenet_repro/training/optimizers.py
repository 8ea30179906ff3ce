"""Adam on TensorFlow's fused update kernel: Keras's update, one op per weight tensor.

Keras 3 writes Adam's update as about a dozen element-wise ops per weight tensor, and
TensorFlow traces every one of them into each training job's graph: for networks of many
small tensors (MobileNetV2: 158, Inception V3: 190) that is seconds of a short job's fixed
cost. With TensorFlow's fused `ResourceApplyAdam` kernel the first training step (tracing
included) of MobileNetV2-32 takes about 2 s less and that of the quarter-width Inception V3
about 4 s less, while steady steps are as fast as before (studies/tracing.py,
studies/results/tracing.json). The kernel computes Keras's formula (Kingma & Ba 2015, epsilon
outside the square root), which tests/test_optimizers.py checks against keras.optimizers.Adam.
RMSProp showed no such difference (studies/results/fused_optimizers_batch32.json) and stays
Keras's own.

On another Keras backend, or with amsgrad (which the kernel lacks), `make` returns Keras's
own Adam. Weight decay and gradient clipping are applied by Keras before the update, as with
Keras's optimizers: AdamW is FusedAdam with a weight decay (Keras's AdamW is its Adam with
one), decaying the kernels only (KernelDecay).
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


def is_kernel(variable) -> bool:
    """Whether weight decay applies to `variable`: convolution and dense kernels (Keras names
    them kernel, depthwise_kernel, pointwise_kernel), not batch-norm gammas and betas or
    biases, which set a scale and an offset that shrinking towards 0 only distorts."""
    return variable.name.endswith("kernel")


class KernelDecay:
    """Keras's decoupled weight decay (w -= lr * weight_decay * w before each update) on the
    kernels only. The exclusion is made where the optimizer is built, so an optimizer
    restored from a checkpoint (built from its config) excludes the same variables."""

    def build(self, var_list):
        self.exclude_from_weight_decay(var_list=[v for v in var_list if not is_kernel(v)])
        super().build(var_list)


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class FusedAdamW(KernelDecay, FusedAdam):
    """AdamW on TensorFlow's fused Adam kernel: Keras applies the decay before the update."""


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class KernelAdamW(KernelDecay, keras.optimizers.AdamW):
    """keras.optimizers.AdamW decaying the kernels only (backends other than TensorFlow)."""


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class KernelRMSprop(KernelDecay, keras.optimizers.RMSprop):
    """keras.optimizers.RMSprop with Keras's decoupled decay on the kernels only: the weight
    decay arm of the CIFAR-10 ablations, the reference optimizer with that one change."""


@keras.saving.register_keras_serializable(package="mobilenet_repro")
class CoupledDecaySGD(keras.optimizers.SGD):
    """SGD whose weight decay is PyTorch's: `l2` times the weight joins the gradient.

    Keras's own `weight_decay` shrinks weights outside the momentum (decoupled, as in AdamW);
    PyTorch's SGD(weight_decay=...) adds the L2 term to the gradient, so it passes through
    momentum and Nesterov's look-ahead, an effective decay about 1 / (1 - momentum) times
    stronger. The published CIFAR-10 recipes use PyTorch's.
    """

    def __init__(self, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = l2

    def update_step(self, gradient, variable, learning_rate):
        gradient = keras.ops.add(gradient, keras.ops.multiply(self.l2, variable))
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


def make(name: str, **kwargs) -> keras.optimizers.Optimizer:
    """Adam or AdamW (fused on TensorFlow), RMSprop (decaying kernels only when given a
    weight_decay) or SGD with Keras's arguments."""
    fused = _tf_backend() and not kwargs.get("amsgrad")
    classes = {
        "adam": FusedAdam if fused else keras.optimizers.Adam,
        "adamw": FusedAdamW if fused else KernelAdamW,
        "rmsprop": KernelRMSprop if kwargs.get("weight_decay") else keras.optimizers.RMSprop,
        "sgd": CoupledDecaySGD if kwargs.get("l2") else keras.optimizers.SGD,
    }
    return classes[name](**kwargs)


def from_recipe(recipe: dict, schedule) -> keras.optimizers.Optimizer:
    """The recipe's optimizer (the schema allows adam, adamw, rmsprop and sgd) at `schedule`."""
    name = recipe["optimizer"]
    ema = recipe.get("ema_decay")
    # Keras keeps the average inside the optimizer, so checkpoints save and restore it; fit
    # swaps it into the model's trainable weights when it ends.
    averaging = {"use_ema": True, "ema_momentum": ema} if ema else {}
    if name in ("adam", "adamw"):
        # AdamW's decay is Keras's (scaled by the scheduled rate), not SGD's L2 term below.
        decay = {"weight_decay": recipe["weight_decay"]} if name == "adamw" else {}
        return make(
            name,
            **averaging,
            **decay,
            learning_rate=schedule,
            beta_1=recipe["beta_1"],
            beta_2=recipe["beta_2"],
            epsilon=recipe["epsilon"],
        )
    if name == "rmsprop":
        decay = {"weight_decay": recipe["weight_decay"]} if recipe["weight_decay"] else {}
        return make(
            "rmsprop",
            **averaging,
            **decay,
            learning_rate=schedule,
            rho=recipe["rho"],
            momentum=recipe["momentum"],
            epsilon=recipe["epsilon"],
        )
    decay = {"l2": recipe["weight_decay"]} if recipe["weight_decay"] else {}
    return make(
        "sgd",
        learning_rate=schedule,
        momentum=recipe["momentum"],
        nesterov=recipe["nesterov"],
        **decay,
        **averaging,
    )
