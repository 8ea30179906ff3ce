"""What every builder shares: argument checks with clear errors, top and pooling layers,
ImageNet weights (downloaded by keras.applications, copied across). Loading a trained model
file, which holds its optimizer too, is training's (`training.checkpoint.load_trusted_model`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import keras
from keras import layers

WEIGHT_CHOICES = (None, "imagenet")
MOBILENET_V1_ALPHAS = (0.25, 0.50, 0.75, 1.0)
MOBILENET_V2_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)


class ModelConfigError(ValueError):
    """An argument to a builder is outside what the architecture allows."""


def _check_common(name, input_shape, include_top, weights, classes, min_size, default_size=224):
    if weights not in WEIGHT_CHOICES and not (
        isinstance(weights, str) and weights.endswith((".h5", ".weights.h5", ".keras"))
    ):
        raise ModelConfigError(
            f"{name}: weights must be None, 'imagenet' or a path to a weights file; "
            f"received {weights!r}"
        )
    if not isinstance(classes, int) or classes < 1:
        raise ModelConfigError(f"{name}: classes must be a positive integer; received {classes!r}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ModelConfigError(
            f"{name}: with weights='imagenet' and include_top=True, classes must be 1000; "
            f"received classes={classes}. Use include_top=False and add a head (see "
            "build_classifier) to fine-tune on another label set."
        )
    if input_shape is None:
        input_shape = (default_size, default_size, 3)
    if len(input_shape) != 3:
        raise ModelConfigError(
            f"{name}: input_shape must be (height, width, channels); received {input_shape!r}"
        )
    height, width, channels = input_shape
    if height < min_size or width < min_size:
        raise ModelConfigError(
            f"{name}: input must be at least {min_size}x{min_size}; received {height}x{width}"
        )
    if weights == "imagenet" and channels != 3:
        raise ModelConfigError(
            f"{name}: ImageNet weights need 3 input channels; received {channels}"
        )
    return tuple(input_shape)


def _check_alpha(name, alpha, weights, allowed):
    if not isinstance(alpha, (int, float)) or not alpha > 0:
        raise ModelConfigError(f"{name}: alpha must be a positive number; received {alpha!r}")
    if weights == "imagenet" and alpha not in allowed:
        raise ModelConfigError(
            f"{name}: ImageNet weights exist only for alpha in {allowed}; received {alpha}"
        )


def classifier_top(x, classes, classifier_activation, dropout=None, seed=None, pool=True):
    """Global average pooling, dropout and a dense classifier. A `seed` fixes the head's
    initial weights and dropout masks whatever was built before it, so that a head trained
    on a frozen base's cached features starts as the one trained through the base."""
    if pool:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="top_dropout", seed=seed)(x)
    init = "glorot_uniform" if seed is None else keras.initializers.GlorotUniform(seed=seed)
    return layers.Dense(
        classes, activation=classifier_activation, name="predictions", kernel_initializer=init
    )(x)


def _pool(x, pooling):
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="global_average_pooling2d")(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="global_max_pooling2d")(x)
    return x


def _correct_pad(inputs, kernel_size):
    """Padding so a stride-2 'valid' convolution matches TF-slim's 'same' output size."""
    size = inputs.shape[1:3]
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size // 2, kernel_size // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def _make_divisible(v, divisor=8, min_value=None):
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:  # never round down by more than 10%
        new_v += divisor
    return new_v


def _copy_imagenet_weights(model, reference):
    """Copy weights layer by layer from a keras.applications model with the same layer names."""
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(reference.get_layer(layer.name).get_weights())


class WeightsUnavailable(RuntimeError):
    """Pretrained weights could not be downloaded or read; the message says where to put them."""


def fetch_imagenet(builder: Callable[[], keras.Model]) -> keras.Model:
    """Run a keras.applications builder with weights='imagenet', explaining a failed download.

    Keras downloads each weights file once to its cache (`$KERAS_HOME/models`, by default
    ~/.keras/models) and checks it there; offline, that is where the file has to be put.
    """
    try:
        return builder()
    except Exception as exc:
        text = str(exc)
        if not (isinstance(exc, OSError) or "URL fetch failure" in text or "hash" in text):
            raise
        cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
        raise WeightsUnavailable(
            f"ImageNet weights could not be obtained: {text}\n"
            "Offline? Download the file at the URL above on a machine with network access "
            f"and place it, unchanged, in {cache}/ (Keras checks its hash when one is "
            "published); or set the model's `weights: null` to train from scratch."
        ) from exc


def copy_weights_in_order(model, reference):
    """Copy weights layer by layer in build order (the layers' names differ, not their order)."""
    own = [layer for layer in model.layers if layer.weights]
    theirs = [layer for layer in reference.layers if layer.weights]
    if len(own) != len(theirs):
        raise ValueError(f"{len(own)} weighted layers here, {len(theirs)} in {reference.name}")
    for mine, ref in zip(own, theirs, strict=True):
        mine.set_weights(ref.get_weights())


def _load_weights(model, weights, reference_builder: Callable[[], keras.Model] | None):
    if weights is None:
        return
    if weights == "imagenet":
        # keras.applications owns the official URLs and pinned hashes of these files.
        _copy_imagenet_weights(model, fetch_imagenet(reference_builder))
    else:
        model.load_weights(weights)
