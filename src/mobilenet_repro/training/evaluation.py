"""Test-time variants of a trained run: raw or averaged weights, with or without flips.

A recipe with `ema_decay` tests the moving average of its weights, one with `test_time_flip`
averages each test image's prediction with its mirror's; both are documented gains of short
CIFAR-10 schedules (weight averaging about +0.2 points, flips about +0.5 in the speed
records). Every variant the run makes possible is measured on the same trained weights, so
each technique's own gain is read from one run (metrics.json `test_top1_variants`) rather
than from the difference of two runs, which would carry two runs' noise.
"""

from __future__ import annotations

import keras
import numpy as np


def tested_variant(recipe: dict) -> str:
    """The variant a recipe's test_top1 reports: raw or ema, with _flip for flipped tests."""
    name = "ema" if recipe.get("ema_decay") else "raw"
    return name + ("_flip" if recipe.get("test_time_flip") else "")


def batches(stream):
    """(images, one-hot labels) as numpy arrays, from tf.data or a numpy_batches.Batches."""
    if hasattr(stream, "as_numpy_iterator"):
        yield from stream.as_numpy_iterator()
    else:
        for i in range(len(stream)):
            yield stream[i]


def top1(model, stream, flip: bool) -> float:
    """Top-1 accuracy on `stream`; with `flip`, of the mean of the image's and its mirror's
    predicted distributions (images are NHWC: the mirror reverses axis 2)."""
    correct = total = 0
    for x, y in batches(stream):
        x = np.asarray(x)
        probs = keras.ops.convert_to_numpy(model.predict_on_batch(x))
        if flip:
            mirrored = np.ascontiguousarray(x[:, :, ::-1, :])
            probs = probs + keras.ops.convert_to_numpy(model.predict_on_batch(mirrored))
        correct += int((probs.argmax(axis=1) == np.asarray(y).argmax(axis=1)).sum())
        total += len(x)
    return correct / total


def test_variants(model, stream, raw_weights: list | None) -> dict:
    """Test top-1 of every variant: raw and raw_flip, and with `raw_weights` (all the
    model's weights, batch-norm statistics included, as get_weights gives them; the model then
    holds the averaged weights) ema and ema_flip. The model ends with the weights it came in."""
    variants = {}
    if raw_weights is not None:
        variants["ema"] = top1(model, stream, flip=False)
        variants["ema_flip"] = top1(model, stream, flip=True)
        averaged = model.get_weights()
        model.set_weights(raw_weights)
    variants["raw"] = top1(model, stream, flip=False)
    variants["raw_flip"] = top1(model, stream, flip=True)
    if raw_weights is not None:
        model.set_weights(averaged)
    return variants


class RawWeights(keras.callbacks.Callback):
    """The weights at the end of the last period (get_weights: batch-norm statistics
    included), before fit swaps the optimizer's moving average into the trainable ones."""

    def __init__(self, last_period: int):
        super().__init__()
        self.last_period, self.weights = last_period, None

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.last_period:
            self.weights = self.model.get_weights()
