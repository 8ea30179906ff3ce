"""The architectures: `specs`' facts joined to the builders, and `build_classifier`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import keras

from mobilenet_repro.models.baselines import VGG16, InceptionV3, ResNet50V2
from mobilenet_repro.models.common import (
    WEIGHT_CHOICES,
    ModelConfigError,
    WeightsUnavailable,
    classifier_top,
    copy_weights_in_order,
    fetch_imagenet,
)
from mobilenet_repro.models.mobilenets import (
    ChenyaofoMobileNetV2,
    CifarMobileNetV2,
    MobileNet,
    MobileNetV2,
)
from mobilenet_repro.models.specs import ARCH_SPECS

__all__ = [
    "ARCHITECTURES",
    "VGG16",
    "WEIGHT_CHOICES",
    "Architecture",
    "ChenyaofoMobileNetV2",
    "CifarMobileNetV2",
    "InceptionV3",
    "MobileNet",
    "MobileNetV2",
    "ModelConfigError",
    "ResNet50V2",
    "WeightsUnavailable",
    "build_classifier",
    "classifier_top",
    "copy_weights_in_order",
    "fetch_imagenet",
]


@dataclass(frozen=True)
class Architecture:
    """How to build one architecture and what it needs."""

    builder: Callable[..., keras.Model]
    label: str  # name used in tables
    min_resolution: int
    has_alpha: bool
    imagenet_preprocess: str  # keras.applications module whose preprocess_input fits


ARCHITECTURES: dict[str, Architecture] = {
    name: Architecture(
        partial(globals()[spec.builder], **dict(spec.options))
        if spec.options
        else globals()[spec.builder],
        spec.label,
        spec.min_resolution,
        spec.has_alpha,
        spec.imagenet_preprocess,
    )
    for name, spec in ARCH_SPECS.items()
}


def build_classifier(
    arch: str,
    classes: int,
    resolution: int,
    alpha: float = 1.0,
    weights: str | None = None,
    freeze_base: bool = False,
    dropout: float = 0.0,
    channels: int = 3,
    head_seed: int | None = None,
) -> keras.Model:
    """A ready-to-train classifier.

    From scratch (`weights=None`) this is the architecture's own top at `classes` outputs, so
    its parameter count is the one the papers and Keras report. With pretrained weights it is
    the convolutional base (optionally frozen, seed 001's transfer-learning setup) followed by
    global average pooling, dropout and a new dense softmax layer.
    """
    if arch not in ARCHITECTURES:
        raise ModelConfigError(
            f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}"
        )
    spec = ARCHITECTURES[arch]
    shape = (resolution, resolution, channels)
    kwargs = {"alpha": alpha} if spec.has_alpha else {}
    if weights is None:
        if freeze_base:
            raise ModelConfigError(
                f"{arch}: freeze_base=True needs pretrained weights; received weights=None"
            )
        return spec.builder(input_shape=shape, weights=None, classes=classes, **kwargs)
    base = build_base(arch, resolution, alpha, weights, channels)
    base.trainable = not freeze_base
    inputs = keras.Input(shape=shape)
    # training=False keeps a frozen base's batch-norm statistics fixed while fine-tuning.
    x = base(inputs, training=False) if freeze_base else base(inputs)
    outputs = classifier_top(x, classes, "softmax", dropout, seed=head_seed)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")


def build_base(arch: str, resolution: int, alpha: float, weights, channels: int = 3):
    """The convolutional base of a transfer classifier (no top), with its weights."""
    spec = ARCHITECTURES[arch]
    kwargs = {"alpha": alpha} if spec.has_alpha else {}
    shape = (resolution, resolution, channels)
    return spec.builder(input_shape=shape, weights=weights, include_top=False, **kwargs)


def build_head(features: int, classes: int, dropout: float = 0.0, head_seed: int | None = None):
    """The head of a transfer classifier alone, on a frozen base's pooled features: the same
    layers as build_classifier's top, so its weights can be copied into the full model."""
    inputs = keras.Input(shape=(features,))
    outputs = classifier_top(inputs, classes, "softmax", dropout, seed=head_seed, pool=False)
    return keras.Model(inputs, outputs, name="head")
