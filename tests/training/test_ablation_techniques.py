"""Training techniques the CIFAR-10 ablations measure one at a time (issue 35): the linear and
one-cycle schedules, AdamW on kernels only, flip and translate test-time augmentation."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pandas as pd
import pytest

from mobilenet_repro.errors import ConfigError
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.training import evaluation, optimizers
from mobilenet_repro.training.evaluation import predict, shifted
from mobilenet_repro.training.optimizers import (
    FusedAdamW,
    KernelAdamW,
    KernelRMSprop,
    from_recipe,
)
from mobilenet_repro.training.schedules import WarmupLinear, lr_at, make_schedule
from mobilenet_repro.validation import check_config


def _spec(config, **recipe):
    config["recipes"]["quick"].update(recipe)
    return run_spec(check_config(config), "tiny", "digits", "v1_025_32", 0)


def _recipe(**changes):
    recipe = {
        "learning_rate": 0.1,
        "warmup_steps": None,
        "warmup_epochs": 0,
        "schedule": "linear",
        "schedule_epochs": None,
        "schedule_per": "step",
    }
    return {**recipe, **changes}


def test_linear_schedule_falls_from_the_peak_to_zero_at_the_end():
    schedule = make_schedule(_recipe(), total=100, steps_per_epoch=10)
    assert lr_at(schedule, 0) == pytest.approx(0.1)
    assert lr_at(schedule, 50) == pytest.approx(0.05)
    assert lr_at(schedule, 99) == pytest.approx(0.001)  # the last step: peak / total
    assert lr_at(schedule, 100) == 0.0 and lr_at(schedule, 150) == 0.0


def test_linear_schedule_after_a_warm_up_is_the_one_cycle_triangle():
    schedule = make_schedule(_recipe(warmup_epochs=2), total=100, steps_per_epoch=10)
    assert lr_at(schedule, 0) == 0.0
    assert lr_at(schedule, 10) == pytest.approx(0.05)  # halfway up
    assert lr_at(schedule, 20) == pytest.approx(0.1)  # the peak at the end of warm-up
    assert lr_at(schedule, 60) == pytest.approx(0.05)  # halfway down
    assert lr_at(schedule, 99) == pytest.approx(0.1 / 80)
    # schedule_epochs stretches the fall: a 10-epoch run follows a 20-epoch schedule's start
    longer = make_schedule(_recipe(warmup_epochs=2, schedule_epochs=20), 100, 10)
    assert lr_at(longer, 110) == pytest.approx(0.05)
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule)
    )
    assert isinstance(restored, WarmupLinear) and lr_at(restored, 60) == pytest.approx(0.05)


def test_a_run_writes_the_linear_schedule_to_lr_schedule_csv(tiny_config, tmp_path):
    from mobilenet_repro.training.plan import RunPlan
    from mobilenet_repro.training.steps import build_model, write_outputs

    spec = _spec(tiny_config, schedule="linear", warmup_epochs=1, epochs=4, batch_size=10)
    assert spec["recipe"]["schedule"] == "linear"
    run = RunPlan(spec, 10, train_images=100)  # 10 steps per epoch, 40 in all
    model = build_model(spec["model"], spec["recipe"], 10, run.schedule)
    out = {"model": tmp_path / "model.keras", "history": tmp_path / "history.csv"}
    write_outputs(run, model, [], {**out, "schedule": tmp_path / "lr_schedule.csv"})
    rate = pd.read_csv(tmp_path / "lr_schedule.csv").set_index("step")["learning_rate"]
    assert list(rate.index) == list(range(40))
    assert rate[0] == 0.0 and rate[5] == pytest.approx(0.001)
    assert rate[10] == pytest.approx(0.002) and rate[25] == pytest.approx(0.001)
    assert rate[39] == pytest.approx(0.002 / 30)
    assert rate[:11].is_monotonic_increasing and rate[10:].is_monotonic_decreasing


def test_linear_schedule_refuses_per_epoch_steps_and_a_warm_up_as_long_as_the_run(tiny_config):
    with pytest.raises(ConfigError, match="schedule_per: received 'epoch'"):
        _spec(tiny_config, schedule="linear", schedule_per="epoch", warmup_epochs=0)
    with pytest.raises(ConfigError, match="so the linear decay has steps left"):
        _spec(tiny_config, schedule="linear", warmup_epochs=2)


def _tiny_model():
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Conv2D(2, 3, use_bias=True)(inputs)
    x = keras.layers.BatchNormalization()(x)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    for v in model.trainable_variables:  # away from BN's ones and zeros, so decay would show
        v.assign(np.full(v.shape, 0.5, dtype="float32"))
    return model


def _adamw(name="adamw", weight_decay=0.1):
    recipe = {"optimizer": name, "weight_decay": weight_decay, "beta_1": 0.9}
    recipe.update(beta_2=0.999, epsilon=1e-7)
    return from_recipe(recipe, schedule=0.5)


def _assert_one_step_decays_kernels_only(optimizer, rate=0.5, weight_decay=0.1):
    """One step of zero gradients: the optimizer's own step is 0 (Adam's, RMSProp's), so only
    the decay moves a weight, and only a kernel's, by rate * weight_decay."""
    model = _tiny_model()
    variables = model.trainable_variables
    optimizer.apply([keras.ops.zeros(v.shape) for v in variables], variables)
    for v in variables:
        want = 0.5 * (1 - rate * weight_decay) if v.name.endswith("kernel") else 0.5
        np.testing.assert_allclose(keras.ops.convert_to_numpy(v), want, rtol=1e-6, err_msg=v.path)
    assert {v.name for v in variables} == {"kernel", "bias", "gamma", "beta"}


@pytest.mark.parametrize("fused", [True, False])
def test_adamw_decays_kernels_by_lr_times_wd_and_leaves_batch_norm_and_biases(fused, monkeypatch):
    monkeypatch.setattr(optimizers, "_tf_backend", lambda: fused)
    optimizer = _adamw()
    assert isinstance(optimizer, FusedAdamW if fused else KernelAdamW)
    _assert_one_step_decays_kernels_only(optimizer)


def test_fused_adamw_equals_keras_adamw_and_restores_with_the_same_exclusions(monkeypatch):
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=v.shape).astype("float32") for v in _tiny_model().weights]]
    grads = [g for g, v in zip(grads[0], _tiny_model().weights, strict=True) if v.trainable]
    results = []
    for fused, restored in ((True, False), (False, False), (True, True)):
        monkeypatch.setattr(optimizers, "_tf_backend", lambda fused=fused: fused)
        optimizer = _adamw()
        if restored:  # as a checkpoint rebuilds it: from its config, before it is built
            optimizer = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
        model = _tiny_model()
        for _ in range(3):
            optimizer.apply(
                [keras.ops.convert_to_tensor(g) for g in grads], model.trainable_variables
            )
        results.append([keras.ops.convert_to_numpy(v) for v in model.trainable_variables])
    # The two Adam updates round differently (1e-5 after three steps of 0.5); a decay applied
    # to other variables, or not at all, would differ by lr * wd = 5e-2 per step.
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_rmsprop_with_weight_decay_decays_kernels_only_and_without_it_is_keras_own():
    recipe = {"optimizer": "rmsprop", "weight_decay": 0.1, "rho": 0.9, "momentum": 0.0}
    optimizer = from_recipe({**recipe, "epsilon": 1e-7}, schedule=0.5)
    assert isinstance(optimizer, KernelRMSprop)
    _assert_one_step_decays_kernels_only(optimizer)
    plain = from_recipe({**recipe, "weight_decay": 0.0, "epsilon": 1e-7}, schedule=0.5)
    assert type(plain) is keras.optimizers.RMSprop


def test_weight_decay_is_allowed_with_adamw_and_refused_with_adam(tiny_config):
    spec = _spec(tiny_config, optimizer="adamw", weight_decay=0.05)
    assert spec["recipe"]["optimizer"] == "adamw" and spec["recipe"]["weight_decay"] == 0.05
    with pytest.raises(ConfigError, match="allowed: 0, or set optimizer: sgd, adamw or rmsprop"):
        _spec(tiny_config, optimizer="adam", weight_decay=0.05)


def test_a_model_with_adamw_saves_and_resumes_decaying_the_same_weights(tmp_path):
    from mobilenet_repro.training.checkpoint import load_trusted_model

    model = _tiny_model()
    model.compile(optimizer=_adamw(), loss="mse")
    x, y = np.ones((4, 4, 4, 3), "float32"), np.zeros((4, 2), "float32")
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    loaded = load_trusted_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is type(model.optimizer)
    for m in (model, loaded):
        m.train_on_batch(x, y)
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    decayed = [v.name for v in loaded.trainable_variables if loaded.optimizer._use_weight_decay(v)]
    assert decayed == ["kernel", "kernel"]


def test_shifted_images_move_diagonally_with_a_reflected_border():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    down = shifted(x, 1)[0, :, :, 0]
    np.testing.assert_array_equal(down[1:, 1:], x[0, :3, :3, 0])  # moved down and right
    np.testing.assert_array_equal(down[0, 1:], x[0, 1, :3, 0])  # row -1 reflects row 1
    up = shifted(x, -1)[0, :, :, 0]
    np.testing.assert_array_equal(up[:3, :3], x[0, 1:, 1:, 0])
    np.testing.assert_array_equal(up[3, :3], x[0, 2, 1:, 0])  # row 4 reflects row 2


class _Views(keras.Model):
    """A 'classifier' whose first class's probability is the pixel at (1, 1), so that each
    view's share of the average shows."""

    def call(self, x):
        probe = keras.ops.mean(x[:, 1, 1, :], axis=-1, keepdims=True)
        return keras.ops.concatenate([probe, 1 - probe], axis=-1)


def test_translation_averages_half_the_image_and_half_its_two_shifts():
    x = np.zeros((1, 4, 4, 1), "float32")
    x[0, 2, 2, 0] = 1.0  # at (1, 1) only in the view moved up-left
    model = _Views(name="views")
    np.testing.assert_allclose(predict(model, x), [[0.0, 1.0]])
    np.testing.assert_allclose(predict(model, x, translate=1), [[0.25, 0.75]])
    # Mirrored, the pixel is at column 1: no mirrored view brings it to (1, 1)
    np.testing.assert_allclose(predict(model, x, flip=True, translate=1), [[0.125, 0.875]])


def test_every_test_time_variant_is_measured_on_the_same_weights():
    model = _tiny_model()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4, 4, 3)).astype("float32")
    stream = [(x, np.eye(2, dtype="float32")[[0, 1, 0, 1, 1, 0]])]
    averaged = model.get_weights()
    raw = [w + 0.3 for w in averaged]
    variants = evaluation.test_variants(model, stream, raw, translate=1)
    assert set(variants) == {
        f"{w}{v}" for w in ("raw", "ema") for v in ("", "_flip", "_translate", "_flip_translate")
    }
    assert all(0 <= v <= 1 for v in variants.values())
    for got, want in zip(model.get_weights(), averaged, strict=True):
        np.testing.assert_array_equal(got, want)  # the model keeps the averaged weights
    assert set(evaluation.test_variants(model, stream, None)) == {"raw", "raw_flip"}
    recipe = {"ema_decay": 0.9, "test_time_flip": True, "test_time_translate": 2}
    assert evaluation.tested_variant(recipe) == "ema_flip_translate"
    assert evaluation.tested_variant({"test_time_translate": 1}) == "raw_translate"


def test_averaged_and_raw_weights_are_each_tested_with_statistics_of_their_own():
    """A run's step 5 and 6 with ema_decay and precise_bn_batches (loop.train_run): the raw
    weights' batch-norm statistics are recomputed too, and both the averaged and the raw
    weights' accuracies are recorded, each equal to a model holding only those weights."""
    import tensorflow as tf

    from mobilenet_repro.training.evaluation import RawWeights, top1
    from mobilenet_repro.training.precise_bn import recompute_bn_statistics, settle_statistics

    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (64, 4, 4, 3)).astype("float32")
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, 64)]
    stream = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    streams = {"precise_bn": stream, "val": stream}
    model = _tiny_model()
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    raw = RawWeights(last_period=1)
    raw.weights = [
        w * rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in model.get_weights()
    ]
    given = [w.copy() for w in raw.weights]
    run = SimpleNamespace(precise_bn_batches=4, recipe={"batch_size": 16}, train_images=64)
    record = settle_statistics(model, streams, run, raw, val_before=0.0)
    assert record["batches"] == 4
    variants = evaluation.test_variants(model, stream, raw.weights)
    for weights, name in ((given, "raw"), (_tiny_model().get_weights(), "ema")):
        alone = _tiny_model()
        alone.set_weights(weights)
        recompute_bn_statistics(alone, stream, 4)
        assert variants[name] == top1(alone, stream, flip=False), name
    moving = [i for i, v in enumerate(model.weights) if "moving" in v.name]
    assert all(not np.allclose(raw.weights[i], given[i]) for i in moving)
