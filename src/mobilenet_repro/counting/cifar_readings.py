"""Seed 000's stated 1,184,746 parameters: readings of its Tables I-III that might give them.

Each reading is one deviation from the tables (no batch norm, biases, one input channel...).
The tables' own reading is `models.mobilenets.CifarMobileNetV2`; the deviating readings are built by
`build_cifar_reading` (for counting only) and counted in closed form across all combinations.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import keras
import pandas as pd
from keras import layers

from mobilenet_repro.counting.counters import count_params
from mobilenet_repro.models.mobilenets import CifarMobileNetV2
from mobilenet_repro.models.specs import (
    CIFAR_MOBILENET_V2_BOTTLENECKS,
    CIFAR_MOBILENET_V2_STEM_FILTERS,
)


@dataclass(frozen=True)
class CifarReading:
    """One reading of seed 000's Tables I-III; defaults are the reading our builder uses."""

    batch_norm: bool = True  # batch norm after every convolution (Sec. IV.A)
    conv_bias: bool = False  # biases in the convolutions
    in_channels: int = 3  # RGB (CIFAR-10); 1 if Table II's "MNIST" caption were right
    repeats_delta: int = 0  # blocks per stage added to Table II's "Repeats" (at least 1 stays)
    first_expansion: int = 6  # t of the first bottleneck (the V2 paper's first block has 1)
    expand_from: str = "input"  # expansion t x input channels (paper) or x output channels
    last_conv: int = 0  # a final 1x1 conv to 1280 channels, as in the V2 paper
    stem: int = CIFAR_MOBILENET_V2_STEM_FILTERS
    bottlenecks: tuple = CIFAR_MOBILENET_V2_BOTTLENECKS
    classes: int = 10
    resolution: int = 32

    def deviations(self) -> list[str]:
        """What differs from Tables I-III, in words."""
        base = CifarReading()
        out = []
        for field, text in DEVIATION_TEXT.items():
            if getattr(self, field) != getattr(base, field):
                if field == "repeats_delta":
                    n = abs(self.repeats_delta)
                    more = "more" if self.repeats_delta > 0 else "fewer"
                    text = text.format(f"{n} {more} {'block' if n == 1 else 'blocks'}")
                out.append(text)
        return out


DEVIATION_TEXT = {
    "batch_norm": "no batch norm",
    "conv_bias": "biases in every convolution",
    "in_channels": "one input channel (MNIST)",
    "repeats_delta": "{} per stage",
    "first_expansion": "no expansion in the first bottleneck (t = 1)",
    "expand_from": "expansion from the output channels",
    "last_conv": "a final 1x1 conv to 1280 channels",
}

# Single deviations from Tables I-III that a reader or an implementation might make.
CIFAR_READINGS: dict[str, tuple[str, CifarReading]] = {
    "tables": ("Tables I-III as printed (our builder)", CifarReading()),
    "no_batch_norm": (
        "convolutions with biases and no batch norm",
        CifarReading(batch_norm=False, conv_bias=True),
    ),
    "conv_bias": ("biases in every convolution, and batch norm", CifarReading(conv_bias=True)),
    "grayscale": ("one input channel (Table II's caption says MNIST)", CifarReading(in_channels=1)),
    "repeats_minus_one": ("each stage one block shorter", CifarReading(repeats_delta=-1)),
    "repeats_plus_one": ("each stage one block longer", CifarReading(repeats_delta=1)),
    "first_t1": (
        "no expansion in the first bottleneck (t = 1, as in the V2 paper)",
        CifarReading(first_expansion=1),
    ),
    "expand_output": (
        "expansion t x output channels instead of input channels",
        CifarReading(expand_from="output"),
    ),
    "last_conv_1280": (
        "a final 1x1 conv to 1280 channels before pooling (V2 paper)",
        CifarReading(last_conv=1280),
    ),
}


def _reading_blocks(r: CifarReading) -> list[tuple[int, int, int]]:
    """(expansion, out channels, stride) of each block."""
    blocks = []
    for t, c, n, s in r.bottlenecks:
        for i in range(max(n + r.repeats_delta, 1)):
            blocks.append((t, c, s if i == 0 else 1))
    if blocks:
        blocks[0] = (r.first_expansion, blocks[0][1], blocks[0][2])
    return blocks


def build_cifar_reading(r: CifarReading):
    """A Keras model of reading `r` (for counting only; never trained)."""

    def conv(x, filters, kernel, stride=1, depthwise=False, act=True):
        if depthwise:
            x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=r.conv_bias)(x)
        else:
            x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=r.conv_bias)(x)
        if r.batch_norm:
            x = layers.BatchNormalization()(x)
        return layers.ReLU(6.0)(x) if act else x

    inputs = keras.Input((r.resolution, r.resolution, r.in_channels))
    x = conv(inputs, r.stem, 3)
    for t, c, s in _reading_blocks(r):
        c_in = x.shape[-1]
        y = x
        if t != 1:
            y = conv(y, (c if r.expand_from == "output" else c_in) * t, 1)
        y = conv(y, None, 3, s, depthwise=True)
        y = conv(y, c, 1, act=False)
        x = layers.Add()([x, y]) if (s == 1 and c_in == c) else y
    if r.last_conv:
        x = conv(x, r.last_conv, 1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(r.classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def closed_form_params(r: CifarReading) -> tuple[int, int]:
    """(total, trainable) parameters of reading `r`, by formula (checked against Keras)."""
    total = trainable = 0

    def conv(n_weights, channels):
        nonlocal total, trainable
        extra = channels if r.conv_bias else 0
        bn = 4 * channels if r.batch_norm else 0
        total += n_weights + extra + bn
        trainable += n_weights + extra + bn // 2

    conv(9 * r.in_channels * r.stem, r.stem)
    c_in = r.stem
    for t, c, _ in _reading_blocks(r):
        mid = c_in
        if t != 1:
            mid = (c if r.expand_from == "output" else c_in) * t
            conv(c_in * mid, mid)
        conv(9 * mid, mid)
        conv(mid * c, c)
        c_in = c
    if r.last_conv:
        conv(c_in * r.last_conv, r.last_conv)
        c_in = r.last_conv
    total += c_in * r.classes + r.classes
    trainable += c_in * r.classes + r.classes
    return total, trainable


def reading_search_space() -> list[CifarReading]:
    """Every combination of the deviations (the closed form counts them in milliseconds)."""
    out = []
    for bn_bias, ch, rep, t1, exp, last in itertools.product(
        ((True, False), (True, True), (False, True), (False, False)),
        (3, 1),
        (0, -1, 1),
        (6, 1),
        ("input", "output"),
        (0, 1280),
    ):
        out.append(
            CifarReading(
                batch_norm=bn_bias[0],
                conv_bias=bn_bias[1],
                in_channels=ch,
                repeats_delta=rep,
                first_expansion=t1,
                expand_from=exp,
                last_conv=last,
            )
        )
    return out


def cifar_reading_rows(stated: int, n_closest: int = 3) -> tuple[pd.DataFrame, dict]:
    """Params of each reading (built in Keras) and of the closest combinations searched.

    Returns the table and a summary: how many readings were searched and whether any
    gives `stated` as its total or trainable count.
    """
    rows = []
    for rid, (text, reading) in CIFAR_READINGS.items():
        builder = (
            CifarMobileNetV2 if rid == "tables" else (lambda r=reading: build_cifar_reading(r))
        )
        total, trainable = count_built(builder)
        rows.append(_reading_row(rid, text, reading, total, trainable, stated))
    for alpha in (1.0, 0.75):
        total, trainable = count_built(
            lambda a=alpha: keras.applications.MobileNetV2(
                input_shape=(32, 32, 3), alpha=a, weights=None, classes=10
            )
        )
        row = _reading_row(f"keras_mobilenetv2_{alpha:.2f}", "", None, total, trainable, stated)
        row["description"] = (
            f"Keras's own MobileNetV2 at width {alpha:g}, 32×32×3 with 10 classes: "
            "the V2 paper's network"
        )
        rows.append(row)
    space = reading_search_space()
    scored = []
    for r in space:
        total, trainable = closed_form_params(r)
        scored.append((min(abs(total - stated), abs(trainable - stated)), r, total, trainable))
    scored.sort(key=lambda x: (x[0], len(x[1].deviations())))
    exact = [s for s in scored if s[0] == 0]
    for k, (_, r, total, trainable) in enumerate(scored[:n_closest], start=1):
        built = count_built(lambda r=r: build_cifar_reading(r))  # confirm the formula
        if built != (total, trainable):
            raise AssertionError(f"closed form {(total, trainable)} != Keras {built} for {r}")
        rows.append(
            _reading_row(f"closest_{k}", f"closest combination #{k}", r, total, trainable, stated)
        )
    summary = {
        "stated": stated,
        "searched": len(space),
        "deviation_kinds": len(DEVIATION_TEXT),
        "exact": [", ".join(s[1].deviations()) or "Tables I-III" for s in exact],
        "closest_distance": int(scored[0][0]),
        "closest": ", ".join(scored[0][1].deviations()),
    }
    return pd.DataFrame(rows), summary


def count_built(builder) -> tuple[int, int]:
    """(total, trainable) parameters of `builder()`, built without initialising weights."""
    with keras.StatelessScope(initialize_variables=False):
        model = builder()
    counts = count_params(model)
    del model
    keras.backend.clear_session(free_memory=False)
    return counts


def _reading_row(rid, text, reading, total, trainable, stated) -> dict:
    dev = reading.deviations() if reading is not None else ["the V2 paper's full network"]
    return {
        "reading": rid,
        "description": text,
        "deviations": "; ".join(dev) if dev else "none",
        "n_deviations": len(dev),
        "params": total,
        "trainable_params": trainable,
        "params_difference": total - stated,
        "trainable_difference": trainable - stated,
        "gives_stated": stated in (total, trainable),
    }
