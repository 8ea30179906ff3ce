"""Batch-norm statistics recomputed for the final weights ("precise BN").

While a network trains, each batch-norm layer's moving mean and variance follow the batch
statistics with momentum m (0.99 or 0.999 in the architectures, tuned for ImageNet's hundreds
of thousands of steps). After a few hundred steps they still hold much of their initial
values and of the first batches' statistics, computed under other weights: in inference mode
the network then classifies at chance while its training accuracy is high. Recomputing them at
the end of training (Wu and Johnson, "Rethinking 'Batch' in BatchNorm", 2021, Sec. 3: the
"PreciseBN" of detectron2) removes the lag: forward passes in training mode over k batches of
training images, each leaving its batch's statistics in the layers (momentum 0), whose
plain average becomes the moving statistics (as the momentum 1 - 1/j at the j-th batch of
detectron2's hook does).

Only the moving statistics change. No gradient is taken; a frozen batch-norm layer (a frozen
pretrained base) is not trainable, so Keras runs it in inference mode and leaves it alone;
the layers' random state (dropout's seed generators) is put back afterwards. The batches are
training images augmented as trained, as detectron2's hook takes them from the training
loader, in an order fixed by the run's seed (`steps.make_streams`), and the pass starts from
the final weights, which a resumed run reproduces: the result is a function of the seed.
Unaugmented images are not the safer choice they seem: the weights downstream of each layer
were trained under the augmented statistics, and with CIFAR-10's zero-padded crops (on average
13% of a crop's pixels are border) statistics of unaugmented images cost 2.2-3.8 points of
validation top-1 on the same weights (`studies/precise_bn_record.py`, the ablation record).
"""

from __future__ import annotations

from itertools import islice

import keras
import numpy as np

from mobilenet_repro.training.checkpoint import seed_generators
from mobilenet_repro.training.evaluation import batches


def trainable_bn_layers(model) -> list:
    """The batch-norm layers whose statistics training updates (not a frozen base's)."""
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]


def recompute_bn_statistics(model, stream, max_batches: int, compiled: bool = True) -> int:
    """Set every trainable batch-norm layer's moving mean and variance to their average over
    the first `max_batches` batches of `stream`; returns how many batches it used (0 when
    the model has no such layer). `compiled`: trace the forward pass once (TensorFlow), which
    costs less than running it eagerly from about five batches on."""
    layers = trainable_bn_layers(model)
    if not layers or max_batches <= 0:
        return 0
    momenta = [layer.momentum for layer in layers]
    generators = seed_generators(model)
    states = [np.array(keras.ops.convert_to_numpy(g.state.value)) for g in generators]
    if hasattr(stream, "take"):  # tf.data: read no more than the batches used
        stream = stream.take(max_batches)
    forward = _training_forward(model, compiled)
    sums = [[0.0, 0.0] for _ in layers]
    used = 0
    try:
        for layer in layers:  # each training-mode call leaves its batch's statistics
            layer.momentum = 0.0
        for x, _ in islice(batches(stream), max_batches):
            forward(x)
            used += 1
            for total, layer in zip(sums, layers, strict=True):
                total[0] += keras.ops.convert_to_numpy(layer.moving_mean).astype(np.float64)
                total[1] += keras.ops.convert_to_numpy(layer.moving_variance).astype(np.float64)
        for (mean, variance), layer in zip(sums, layers, strict=True):
            layer.moving_mean.assign((mean / used).astype(layer.moving_mean.dtype))
            layer.moving_variance.assign((variance / used).astype(layer.moving_variance.dtype))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        for generator, state in zip(generators, states, strict=True):
            generator.state.assign(state)
    return used


def _training_forward(model, compiled: bool):
    """The model's forward pass in training mode, traced once on TensorFlow when `compiled`
    (the layers' momenta, 0, are read when it is traced)."""
    if compiled and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(lambda x: model(x, training=True), reduce_retracing=True)
    return lambda x: model(x, training=True)


def precise_bn(model, stream, max_batches: int, raw_weights: list | None = None):
    """Recompute the statistics for the model's weights and, with weight averaging
    (`raw_weights`: the last step's weights, the model holding the average), for the raw
    weights too, so that each variant is tested with statistics of its own. Returns (batches
    used, the raw weights with their statistics, or None)."""
    if raw_weights is not None and trainable_bn_layers(model):
        averaged = model.get_weights()
        model.set_weights(raw_weights)
        recompute_bn_statistics(model, stream, max_batches)
        raw_weights = model.get_weights()
        model.set_weights(averaged)
    return recompute_bn_statistics(model, stream, max_batches), raw_weights


def settle_statistics(model, streams: dict, run, raw, val_before: float) -> dict | None:
    """Step 5 of a run: the statistics recomputed on `run.precise_bn_batches` batches of
    streams["precise_bn"] (`raw`: evaluation.RawWeights, whose weights get their own), and
    the validation accuracy they give; None when nothing was recomputed (the recipe's 0, no
    trainable batch-norm layer)."""
    used, raw.weights = precise_bn(
        model, streams["precise_bn"], run.precise_bn_batches, raw.weights
    )
    if not used:
        return None
    val_after = model.evaluate(streams["val"], verbose=0)[1]
    return {
        "batches": used,
        "images": min(used * run.recipe["batch_size"], run.train_images),
        "val_top1_before": val_before,
        "val_top1_after": float(val_after),
    }
