"""Batch-norm statistics recomputed at the end of training (training.precise_bn)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mobilenet_repro.training.checkpoint import seed_generators
from mobilenet_repro.training.precise_bn import precise_bn, recompute_bn_statistics

BATCH = 8


def _model(frozen_base: bool = False):
    """Input -> [conv, BN] (the base) -> BN -> conv -> BN -> pooling, dropout, dense."""
    keras.utils.set_random_seed(0)
    base = keras.Sequential(
        [keras.Input((6, 6, 3)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization()],
        name="base",
    )
    if frozen_base:
        base.trainable = False
    inputs = keras.Input((6, 6, 3))
    x = base(inputs)
    x = keras.layers.BatchNormalization(name="bn_a")(x)
    x = keras.layers.Conv2D(5, 3, name="conv_b")(x)
    x = keras.layers.BatchNormalization(name="bn_b", momentum=0.999)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.5)(x)
    return keras.Model(inputs, keras.layers.Dense(3)(x))


def _stream(n_batches=4, seed=1):
    rng = np.random.default_rng(seed)
    # Offset and scale far from the initial statistics (mean 0, variance 1).
    return [
        (rng.normal(3.0, 2.0, (BATCH, 6, 6, 3)).astype("float32"), None) for _ in range(n_batches)
    ]


def _bn_inputs(model, x):
    """The inputs of bn_a and bn_b for a batch, every batch norm in training mode."""
    probe = keras.Model(model.input, [model.get_layer("bn_a").input, model.get_layer("bn_b").input])
    saved = model.get_weights()
    a, b = (keras.ops.convert_to_numpy(t) for t in probe(x, training=True))
    model.set_weights(saved)  # the probe's own call moved the statistics
    return a, b


def _state(model, names):
    return {n: [w.copy() for w in model.get_layer(n).get_weights()] for n in names}


@pytest.mark.parametrize("compiled", [True, False], ids=["traced", "eager"])
def test_moving_statistics_become_the_average_of_the_batch_statistics(compiled):
    model = _model()
    stream = _stream()
    inputs = [_bn_inputs(model, x) for x, _ in stream]
    seeds = [np.array(keras.ops.convert_to_numpy(g.state.value)) for g in seed_generators(model)]
    others = {
        v.path: keras.ops.convert_to_numpy(v.value).copy()
        for v in model.variables
        if "moving_" not in v.path
    }

    assert recompute_bn_statistics(model, stream, max_batches=10, compiled=compiled) == 4
    for i, name in enumerate(("bn_a", "bn_b")):
        layer = model.get_layer(name)
        per_batch = [batch[i] for batch in inputs]
        mean = np.mean([b.mean(axis=(0, 1, 2)) for b in per_batch], axis=0)
        variance = np.mean([b.var(axis=(0, 1, 2)) for b in per_batch], axis=0)  # biased, as Keras
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), mean, 1e-4, 1e-5)
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(layer.moving_variance), variance, 1e-4, 1e-5
        )
    assert model.get_layer("bn_b").momentum == 0.999  # put back
    # No other weight moved: kernels, gamma and beta, the dense layer, dropout's seed state.
    for v in model.variables:
        if "moving_" not in v.path:
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(v.value), others[v.path])
    for g, state in zip(seed_generators(model), seeds, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(g.state.value), state)


def test_only_the_first_batches_are_used_and_the_result_is_reproducible():
    first, second = _model(), _model()
    recompute_bn_statistics(first, _stream(6), max_batches=2)
    recompute_bn_statistics(second, _stream(2), max_batches=5)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_frozen_base_keeps_its_statistics():
    model = _model(frozen_base=True)
    frozen = [w.copy() for w in model.get_layer("base").get_weights()]
    before = _state(model, ["bn_a"])
    assert recompute_bn_statistics(model, _stream(), max_batches=4) == 4
    for got, want in zip(model.get_layer("base").get_weights(), frozen, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.allclose(model.get_layer("bn_a").get_weights()[2], before["bn_a"][2])


def test_a_model_without_trainable_batch_norm_is_left_alone():
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert recompute_bn_statistics(head, [(np.ones((2, 4), "float32"), None)], 5) == 0


def test_averaged_and_raw_weights_each_get_statistics_of_their_own():
    """With weight averaging the tested (averaged) weights and the raw ones each get the
    statistics a run holding only those weights would get."""
    model, raw_model = _model(), _model()
    for v in raw_model.trainable_variables:  # other "raw" weights than the average
        v.assign(keras.ops.convert_to_numpy(v.value) * 1.5)
    raw = raw_model.get_weights()
    used, raw_after = precise_bn(model, _stream(), 4, raw)
    assert used == 4
    recompute_bn_statistics(raw_model, _stream(), 4)
    for got, want in zip(raw_after, raw_model.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    alone = _model()
    recompute_bn_statistics(alone, _stream(), 4)
    for got, want in zip(model.get_weights(), alone.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_the_pass_is_capped_at_one_pass_over_the_training_set(tiny_config):
    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.training.plan import RunPlan
    from mobilenet_repro.validation import check_config

    tiny_config["recipes"]["quick"]["batch_size"] = 32
    config = check_config(tiny_config)
    spec = run_spec(config, "tiny", "digits", "v1_025_32", 0, None)
    assert spec["recipe"]["precise_bn_batches"] == 10  # the schema's default
    assert RunPlan(spec, 10, train_images=1000).precise_bn_batches == 10
    assert RunPlan(spec, 10, train_images=100).precise_bn_batches == 3  # full batches only
    assert RunPlan(spec, 10, train_images=20).precise_bn_batches == 1  # all of them
    spec["recipe"]["precise_bn_batches"] = 0
    assert RunPlan(spec, 10, train_images=1000).precise_bn_batches == 0


def test_the_pass_sees_the_training_augmentation(tiny_config):
    """Its batches are augmented as trained, as detectron2's hook takes them from the training
    loader: with zero-padded crops, statistics of unaugmented images cost 2.2-3.8 points of
    validation top-1 on the same CIFAR-10 weights (studies/precise_bn_record.py)."""
    from mobilenet_repro.data import ImageDataset
    from mobilenet_repro.run_model import run_spec
    from mobilenet_repro.training.evaluation import batches
    from mobilenet_repro.training.plan import RunPlan
    from mobilenet_repro.training.steps import make_streams
    from mobilenet_repro.validation import check_config

    tiny_config["recipes"]["quick"]["augment"] = "flip_crop"
    spec = run_spec(check_config(tiny_config), "tiny", "digits", "v1_025_32", 0, None)
    # Mid-grey images: no pixel is black unless a crop reaches into the zero padding.
    grey = np.full((64, 32, 32, 3), 128, np.uint8)
    labels = np.arange(64) % 10
    splits = {s: (grey, labels) for s in ("train", "val", "test")}
    streams = make_streams(
        ImageDataset("digits", list("0123456789"), splits), RunPlan(spec, 10, 64), 0
    )
    x_pass = np.concatenate([np.asarray(x) for x, _ in batches(streams["precise_bn"])])
    x_tested = np.concatenate([np.asarray(x) for x, _ in batches(streams["train_eval"])])
    assert x_tested.min() > -0.5  # grey throughout
    assert (x_pass == x_pass.min()).any() and x_pass.min() < -0.99  # the black border, at -1
