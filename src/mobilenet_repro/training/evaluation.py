"""Test-time variants of a trained run: raw or averaged weights, with or without flips and
translations.

A recipe with `ema_decay` tests the moving average of its weights, one with `test_time_flip`
averages each test image's prediction with its mirror's, one with `test_time_translate` also
with those of the image shifted by a few pixels (airbench's level-2 test-time augmentation);
all are documented gains of short CIFAR-10 schedules (weight averaging about +0.2 points,
flips about +0.5, translations about +0.1-0.2 more in the speed records). Every variant the
run makes possible is measured on the same trained weights, so
each technique's own gain is read from one run (metrics.json `test_top1_variants`) rather
than from the difference of two runs, which would carry two runs' noise.
"""

from __future__ import annotations

import keras
import numpy as np


def tested_variant(recipe: dict) -> str:
    """The variant a recipe's test_top1 reports: raw or ema, with _flip for flipped tests and
    _translate for translated ones."""
    name = "ema" if recipe.get("ema_decay") else "raw"
    name += "_flip" if recipe.get("test_time_flip") else ""
    return name + ("_translate" if recipe.get("test_time_translate") else "")


def batches(stream):
    """(images, one-hot labels) as numpy arrays, from tf.data or a numpy_batches.Batches."""
    if hasattr(stream, "as_numpy_iterator"):
        yield from stream.as_numpy_iterator()
    else:
        for i in range(len(stream)):
            yield stream[i]


def shifted(x: np.ndarray, pixels: int) -> np.ndarray:
    """NHWC images moved `pixels` down and right (negative: up and left), the uncovered border
    filled by reflection as airbench does: a reflected border needs no choice of what value an
    empty pixel has after normalisation, and keeps the image's own statistics."""
    n = abs(pixels)
    padded = np.pad(x, [(0, 0), (n, n), (n, n), (0, 0)], mode="reflect")
    start = n - pixels  # 0: the view starts at the padding, so the content moves down-right
    return np.ascontiguousarray(padded[:, start : start + x.shape[1], start : start + x.shape[2]])


def predict(model, x: np.ndarray, flip: bool = False, translate: int = 0) -> np.ndarray:
    """Predicted distributions of `x`; with `flip`, the mean of the image's and its mirror's
    (images are NHWC: the mirror reverses axis 2); with `translate` n, half that and half the
    mean over the image moved n pixels diagonally either way (airbench's weighting)."""
    probs = keras.ops.convert_to_numpy(model.predict_on_batch(x))
    if flip:
        mirrored = np.ascontiguousarray(x[:, :, ::-1, :])
        probs = (probs + keras.ops.convert_to_numpy(model.predict_on_batch(mirrored))) / 2
    if translate:
        moved = [predict(model, shifted(x, p), flip) for p in (translate, -translate)]
        probs = probs / 2 + (moved[0] + moved[1]) / 4
    return probs


def top1(model, stream, flip: bool, translate: int = 0) -> float:
    """Top-1 accuracy on `stream` of `predict`'s distributions."""
    correct = total = 0
    for x, y in batches(stream):
        probs = predict(model, np.asarray(x), flip, translate)
        correct += int((probs.argmax(axis=1) == np.asarray(y).argmax(axis=1)).sum())
        total += len(x)
    return correct / total


def views(translate: int) -> dict:
    """Every test-time view a run measures, by suffix: plain and flipped, and with
    `translate` pixels (the recipe's test_time_translate) translated and both."""
    out = {"": (False, 0), "_flip": (True, 0)}
    if translate:
        out.update(_translate=(False, translate), _flip_translate=(True, translate))
    return out


def test_variants(model, stream, raw_weights: list | None, translate: int = 0) -> dict:
    """Test top-1 of every variant: raw, raw_flip (and with `translate` raw_translate and
    raw_flip_translate), and with `raw_weights` (all the model's weights, batch-norm
    statistics included, as get_weights gives them; the model then holds the averaged
    weights) the same for ema. The model ends with the weights it came in."""
    variants = {}
    if raw_weights is not None:
        for suffix, (flip, shift) in views(translate).items():
            variants["ema" + suffix] = top1(model, stream, flip, shift)
        averaged = model.get_weights()
        model.set_weights(raw_weights)
    for suffix, (flip, shift) in views(translate).items():
        variants["raw" + suffix] = top1(model, stream, flip, shift)
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
