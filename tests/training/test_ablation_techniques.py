"""Training techniques the CIFAR-10 ablations measure one at a time (issue 35): the linear and
one-cycle schedules, AdamW on kernels only, flip and translate test-time augmentation."""

from __future__ import annotations

import keras
import pandas as pd
import pytest

from mobilenet_repro.config import ConfigError, check_config, run_spec
from mobilenet_repro.training.schedules import WarmupLinear, lr_at, make_schedule


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
