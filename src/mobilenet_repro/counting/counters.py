"""Parameters and multiply-adds of a built Keras model, counted from its layer shapes.

Convention of the MobileNet papers (V1 Sec. 3.3, V2 Table 3): count the multiply-adds of
convolutions (standard, depthwise, pointwise) and fully connected layers; batch norm,
activations, pooling and additions are not counted. Works for any functional Keras model,
including models nested inside other models (keras.applications bases under a new head).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import keras


@dataclass
class LayerCost:
    """One counted layer."""

    name: str
    kind: str  # conv, depthwise, pointwise, separable, dense, batch_norm, other
    input_shape: tuple
    output_shape: tuple
    kernel: str
    params: int
    mult_adds: int
    strides: str = "-"

    def as_row(self) -> dict:
        row = asdict(self)
        row["input_shape"] = "x".join(str(d) for d in self.input_shape)
        row["output_shape"] = "x".join(str(d) for d in self.output_shape)
        return row


def _shape(tensor) -> tuple:
    return tuple(int(d) for d in tensor.shape[1:])


def iter_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from iter_layers(layer)
        else:
            yield layer


def conv_mult_adds(out_h, out_w, out_c, k_h, k_w, in_c_per_group) -> int:
    """Standard convolution: every output value is a dot product over k_h*k_w*in_c."""
    return out_h * out_w * out_c * k_h * k_w * in_c_per_group


def depthwise_mult_adds(out_h, out_w, channels, k_h, k_w) -> int:
    """Depthwise convolution: one k_h*k_w filter per channel (V1 paper, Eq. 3)."""
    return out_h * out_w * channels * k_h * k_w


_GLOBAL_POOLS = (keras.layers.GlobalAveragePooling2D, keras.layers.GlobalMaxPooling2D)


def _after_global_pool(layer, depth: int = 6) -> bool:
    """Whether the layer reads global pooling's output through weightless layers only."""
    op = layer
    for _ in range(depth):
        history = getattr(op.input, "_keras_history", None)
        op = getattr(history, "operation", None)
        if op is None or op.weights:
            return False
        if isinstance(op, _GLOBAL_POOLS):
            return True
    return False


def _conv_cost(layer, kind, in_shape, out_shape, params, madds) -> LayerCost:
    kernel = "x".join(str(int(k)) for k in layer.kernel_size)
    strides = "x".join(str(int(s)) for s in layer.strides)
    return LayerCost(layer.name, kind, in_shape, out_shape, kernel, params, madds, strides)


def layer_cost(layer) -> LayerCost | None:
    """Mult-adds and parameters of one layer, or None for a layer that holds no weights."""
    params = int(sum(math.prod(w.shape) for w in layer.weights))
    if not params:
        return None
    try:
        in_shape = _shape(layer.input)
        out_shape = _shape(layer.output)
    except (AttributeError, ValueError):  # layer used more than once or never called
        return None
    # SeparableConv2D subclasses neither Conv2D nor DepthwiseConv2D in Keras 3; check it first.
    if isinstance(layer, keras.layers.SeparableConv2D):
        k_h, k_w = layer.kernel_size
        out_h, out_w, out_c = out_shape
        mid = in_shape[-1] * layer.depth_multiplier
        madds = depthwise_mult_adds(out_h, out_w, mid, k_h, k_w) + out_h * out_w * out_c * mid
        return _conv_cost(layer, "separable", in_shape, out_shape, params, madds)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        k_h, k_w = layer.kernel_size
        out_h, out_w, out_c = out_shape
        madds = depthwise_mult_adds(out_h, out_w, out_c, k_h, k_w)
        return _conv_cost(layer, "depthwise", in_shape, out_shape, params, madds)
    if isinstance(layer, keras.layers.Conv2D):
        k_h, k_w = layer.kernel_size
        out_h, out_w, out_c = out_shape
        groups = getattr(layer, "groups", 1) or 1
        madds = conv_mult_adds(out_h, out_w, out_c, k_h, k_w, in_shape[-1] // groups)
        if (k_h, k_w) != (1, 1):
            kind = "conv"
        elif in_shape[:2] == (1, 1) and _after_global_pool(layer):
            kind = "dense"  # a 1x1 conv on pooled features is the papers' FC layer (conv_preds)
        else:
            kind = "pointwise"
        return _conv_cost(layer, kind, in_shape, out_shape, params, madds)
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(out_shape[:-1]) if len(out_shape) > 1 else 1
        madds = positions * in_shape[-1] * out_shape[-1]
        return LayerCost(layer.name, "dense", in_shape, out_shape, "-", params, madds)
    kind = "batch_norm" if isinstance(layer, keras.layers.BatchNormalization) else "other"
    return LayerCost(layer.name, kind, in_shape, out_shape, "-", params, 0)


def count_layers(model) -> list[LayerCost]:
    """Per-layer costs of every layer with weights, in model order."""
    return [c for layer in iter_layers(model) if (c := layer_cost(layer)) is not None]


def count_params(model) -> tuple[int, int]:
    """(total, trainable) parameters, batch-norm moving statistics included in the total."""
    total = int(sum(math.prod(w.shape) for w in model.weights))
    trainable = int(sum(math.prod(w.shape) for w in model.trainable_weights))
    return total, trainable


KERNEL_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel")


def param_readings(model) -> dict[str, int]:
    """The parameter count under each convention a published figure may have used.

    - params: every weight, batch-norm moving mean and variance included (Keras's
      `count_params()`);
    - trainable_params: weights updated by training (kernels, biases, batch-norm scale and
      offset); the moving statistics are excluded;
    - params_bn_folded: what an inference graph keeps once every batch norm is folded into
      the convolution before it: kernels, biases and one bias per batch-norm channel;
    - kernel_params: convolution and dense kernels only (no biases, no batch norm);
    - params_bn_depthwise_only: every weight of a checkpoint that keeps batch norm (four
      values a channel) only after depthwise convolutions and a bias (one) after the others,
      as tensorflow/models' MobileNetV2 checkpoints do (the MobileNet V1 architecture notes'
      Metal port of V2 counts them).
    """
    total, trainable = count_params(model)
    kernels = biases = bn_channels = after_ordinary = 0
    before = None  # the last layer with weights: which kind of convolution a batch norm follows
    for layer in iter_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = int(math.prod(layer.moving_mean.shape))
            bn_channels += channels
            if before is not None and not isinstance(before, keras.layers.DepthwiseConv2D):
                after_ordinary += channels
            continue
        if layer.weights:
            before = layer
        for w in layer.weights:
            name = w.name.split("/")[-1].split(":")[0]
            if name in KERNEL_NAMES:
                kernels += int(math.prod(w.shape))
            elif name == "bias":
                biases += int(math.prod(w.shape))
    return {
        "params": total,
        "trainable_params": trainable,
        "params_bn_folded": kernels + biases + bn_channels,
        "kernel_params": kernels,
        "params_bn_depthwise_only": total - 3 * after_ordinary,
    }


def count_mult_adds(model) -> int:
    """Multiply-adds of one forward pass for one image."""
    return sum(c.mult_adds for c in count_layers(model))


def _separable_row(dw_name, pw_name, k, m, n, out_h, out_w, separable) -> dict:
    standard = conv_mult_adds(out_h, out_w, n, k, k, m)
    return {
        "depthwise": dw_name,
        "pointwise": pw_name,
        "kernel": k,
        "in_channels": m,
        "out_channels": n,
        "out_h": out_h,
        "out_w": out_w,
        "separable_mult_adds": separable,
        "standard_mult_adds": standard,
        "measured_ratio": separable / standard,
        "expected_ratio": 1 / n + 1 / k**2,
    }


def separable_cost_ratios(model) -> list[dict]:
    """For every depthwise layer followed by a 1x1 conv: cost vs a standard conv.

    The V1 paper (Sec. 3.1) gives the ratio of a depthwise separable convolution to a
    standard D_K x D_K convolution with the same input and output shape as 1/N + 1/D_K^2,
    where N is the number of output channels. A pair is a depthwise layer (depth multiplier
    1) and the next layer that costs mult-adds, when that is a 1x1 convolution reading the
    depthwise output's shape; batch norm and activations between them are skipped. A Keras
    SeparableConv2D layer is a pair by itself. The standard convolution compared against
    has the depthwise kernel, the pointwise layer's output shape and the depthwise channels
    as input.
    """
    costs = [c for c in count_layers(model) if c.mult_adds or c.kind not in ("batch_norm", "other")]
    rows = []
    for i, c in enumerate(costs):
        if c.kind == "separable":
            k = int(c.kernel.split("x")[0])
            out_h, out_w, n = c.output_shape
            m = c.input_shape[-1]
            rows.append(_separable_row(c.name, c.name, k, m, n, out_h, out_w, c.mult_adds))
            continue
        if c.kind != "depthwise" or i + 1 >= len(costs):
            continue
        pw = costs[i + 1]
        if pw.kind != "pointwise" or pw.input_shape != c.output_shape:
            continue
        if c.output_shape[-1] != c.input_shape[-1]:  # depth multiplier > 1: not the paper's pair
            continue
        k = int(c.kernel.split("x")[0])
        out_h, out_w, n = pw.output_shape
        m = c.output_shape[-1]
        rows.append(
            _separable_row(c.name, pw.name, k, m, n, out_h, out_w, c.mult_adds + pw.mult_adds)
        )
    return rows
