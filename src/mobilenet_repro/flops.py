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
    kind: str  # conv, depthwise, pointwise, separable, dense, other
    input_shape: tuple
    output_shape: tuple
    kernel: str
    params: int
    mult_adds: int

    def as_row(self) -> dict:
        row = asdict(self)
        row["input_shape"] = "x".join(str(d) for d in self.input_shape)
        row["output_shape"] = "x".join(str(d) for d in self.output_shape)
        return row


def _shape(tensor) -> tuple:
    return tuple(int(d) for d in tensor.shape[1:])


def _iter_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _iter_layers(layer)
        else:
            yield layer


def conv_mult_adds(out_h, out_w, out_c, k_h, k_w, in_c_per_group) -> int:
    """Standard convolution: every output value is a dot product over k_h*k_w*in_c."""
    return out_h * out_w * out_c * k_h * k_w * in_c_per_group


def depthwise_mult_adds(out_h, out_w, channels, k_h, k_w) -> int:
    """Depthwise convolution: one k_h*k_w filter per channel (V1 paper, Eq. 3)."""
    return out_h * out_w * channels * k_h * k_w


def layer_cost(layer) -> LayerCost | None:
    """Mult-adds and parameters of one layer, or None for a layer that holds no weights."""
    params = int(sum(math.prod(w.shape) for w in layer.weights))
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
        return LayerCost(layer.name, "separable", in_shape, out_shape, f"{k_h}x{k_w}", params, madds)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        k_h, k_w = layer.kernel_size
        out_h, out_w, out_c = out_shape
        madds = depthwise_mult_adds(out_h, out_w, out_c, k_h, k_w)
        return LayerCost(layer.name, "depthwise", in_shape, out_shape, f"{k_h}x{k_w}", params, madds)
    if isinstance(layer, keras.layers.Conv2D):
        k_h, k_w = layer.kernel_size
        out_h, out_w, out_c = out_shape
        groups = getattr(layer, "groups", 1) or 1
        madds = conv_mult_adds(out_h, out_w, out_c, k_h, k_w, in_shape[-1] // groups)
        kind = "pointwise" if (k_h, k_w) == (1, 1) else "conv"
        return LayerCost(layer.name, kind, in_shape, out_shape, f"{k_h}x{k_w}", params, madds)
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(out_shape[:-1]) if len(out_shape) > 1 else 1
        madds = positions * in_shape[-1] * out_shape[-1]
        return LayerCost(layer.name, "dense", in_shape, out_shape, "-", params, madds)
    if params:
        return LayerCost(layer.name, "other", in_shape, out_shape, "-", params, 0)
    return None


def count_layers(model) -> list[LayerCost]:
    """Per-layer costs of every layer with weights, in model order."""
    return [c for layer in _iter_layers(model) if (c := layer_cost(layer)) is not None]


def count_params(model) -> tuple[int, int]:
    """(total, trainable) parameters, batch-norm moving statistics included in the total."""
    total = int(sum(math.prod(w.shape) for w in model.weights))
    trainable = int(sum(math.prod(w.shape) for w in model.trainable_weights))
    return total, trainable


def count_mult_adds(model) -> int:
    """Multiply-adds of one forward pass for one image."""
    return sum(c.mult_adds for c in count_layers(model))


def separable_cost_ratios(model) -> list[dict]:
    """For every depthwise layer directly followed by a 1x1 conv: cost vs a standard conv.

    The V1 paper (Sec. 3.1) gives the ratio of a depthwise separable convolution to a
    standard D_K x D_K convolution with the same input and output shape as 1/N + 1/D_K^2,
    where N is the number of output channels.
    """
    costs = count_layers(model)
    rows = []
    for dw, pw in zip(costs, costs[1:], strict=False):
        if dw.kind != "depthwise" or pw.kind != "pointwise":
            continue
        k = int(dw.kernel.split("x")[0])
        out_h, out_w, n = pw.output_shape
        m = dw.output_shape[-1]
        standard = conv_mult_adds(out_h, out_w, n, k, k, m)
        measured = (dw.mult_adds + pw.mult_adds) / standard
        rows.append(
            {
                "depthwise": dw.name,
                "pointwise": pw.name,
                "kernel": k,
                "in_channels": m,
                "out_channels": n,
                "separable_mult_adds": dw.mult_adds + pw.mult_adds,
                "standard_mult_adds": standard,
                "measured_ratio": measured,
                "expected_ratio": 1 / n + 1 / k**2,
            }
        )
    return rows
