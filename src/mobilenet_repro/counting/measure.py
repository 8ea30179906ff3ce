"""Building a configuration's Keras model (uninitialised) and counting it.

Only the architecture stage (`stage`) imports this module, in a job that has chosen its
Keras backend (`training.backends.select_for_tools`); the configuration check, which must not
import Keras, reads `grid` alone.
"""

from __future__ import annotations

import time

import keras

from mobilenet_repro.counting.counters import (
    count_mult_adds,
    iter_layers,
    layer_cost,
    param_readings,
    separable_cost_ratios,
)
from mobilenet_repro.counting.grid import Spec
from mobilenet_repro.models.catalog import ARCHITECTURES
from mobilenet_repro.models.common import classifier_top
from mobilenet_repro.models.specs import NOT_IN_KERAS


def build(spec: Spec):
    """The Keras model of `spec`, untrained (weights=None): shapes are all we need.

    Built in a stateless scope that never initialises the variables: counting needs their
    shapes only, and skipping thousands of random initialisations makes building several
    times faster. The model cannot be run; clear the Keras session after use.
    """
    with keras.StatelessScope(initialize_variables=False):
        return _build(spec)


def _build(spec: Spec):
    arch = ARCHITECTURES[spec.arch]
    shape = (spec.resolution, spec.resolution, 3)
    kwargs = {"alpha": spec.alpha} if arch.has_alpha else {}
    if spec.head == "own":
        return arch.builder(input_shape=shape, weights=None, classes=spec.classes, **kwargs)
    base = arch.builder(input_shape=shape, weights=None, include_top=False, **kwargs)
    inputs = keras.Input(shape=shape)
    outputs = classifier_top(base(inputs), spec.classes, "softmax", 0.2)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")


def keras_reference_params(spec: Spec) -> tuple[int | None, str]:
    """Parameters of keras.applications' own model for `spec`, and how they compare."""
    if spec.head != "own":
        return None, "new head"
    if spec.arch not in ("mobilenet_v1", "mobilenet_v2"):
        if spec.arch in NOT_IN_KERAS:
            return None, "no keras model"
        return None, "is Keras's own model"
    app = (
        keras.applications.MobileNet
        if spec.arch == "mobilenet_v1"
        else keras.applications.MobileNetV2
    )
    with keras.StatelessScope(initialize_variables=False):
        model = app(
            input_shape=(spec.resolution, spec.resolution, 3),
            alpha=spec.alpha,
            weights=None,
            classes=spec.classes,
        )
    n = int(model.count_params())
    del model
    keras.backend.clear_session(free_memory=False)
    return n, ""


def _producer_input_shape(layer) -> tuple:
    """The layer's input shape before any ZeroPadding2D that feeds it (tables show that)."""
    tensor = layer.input
    op = getattr(getattr(tensor, "_keras_history", None), "operation", None)
    if isinstance(op, keras.layers.ZeroPadding2D):
        tensor = op.input
    return tuple(int(d) for d in tensor.shape[1:])


def layer_rows(model) -> list[dict]:
    """Per-layer breakdown: every layer with weights, with its shapes and costs."""
    rows = []
    for layer in iter_layers(model):
        cost = layer_cost(layer)
        if cost is None:
            continue
        row = cost.as_row()
        row["layer"] = row.pop("name")
        row["table_input_shape"] = "x".join(str(d) for d in _producer_input_shape(layer))
        rows.append(row)
    for i, row in enumerate(rows):
        row["index"] = i
    return rows


def _activation(layer) -> str:
    """The nonlinearity a layer applies ("" for none): what the claims about ReLU6, linear
    projections and softmax heads read."""
    if isinstance(layer, keras.layers.ReLU):
        return "relu6" if layer.max_value == 6 else "relu"
    name = getattr(layer, "activation", None)
    name = getattr(name, "__name__", name) if name is not None else ""
    return "" if name in ("linear", None) else str(name)


def _inbound(layer) -> list[str]:
    tensors = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    names = []
    for tensor in tensors:
        op = getattr(getattr(tensor, "_keras_history", None), "operation", None)
        if op is not None:
            names.append(op.name)
    return names


def graph_rows(model) -> list[dict]:
    """Every layer in order with its class, nonlinearity, inputs and output shape: the layer
    graph the structural claims (activations, residual additions, dropout) are read from."""
    rows = []
    for i, layer in enumerate(iter_layers(model)):
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = layer.output.shape[1:]
        rows.append(
            {
                "index": i,
                "layer": layer.name,
                "class": type(layer).__name__,
                "activation": _activation(layer),
                "inbound": ";".join(_inbound(layer)),
                "output_shape": "x".join(str(d) for d in shape),
            }
        )
    return rows


def measure(spec: Spec) -> tuple[dict, list[dict], list[dict], list[dict]]:
    """(stats row, layer rows, separable pair rows, layer graph rows) of one configuration."""
    start = time.perf_counter()
    model = build(spec)
    stats = {**param_readings(model), "mult_adds": count_mult_adds(model)}
    layers = layer_rows(model)
    ratios = separable_cost_ratios(model)
    graph = graph_rows(model)
    stats["build_seconds"] = round(time.perf_counter() - start, 3)
    del model
    keras.backend.clear_session(free_memory=False)
    return stats, layers, ratios, graph
