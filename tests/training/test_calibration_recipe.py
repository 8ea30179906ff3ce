"""The published CIFAR-10 recipe's pieces: its network, its optimizer, its schedule, its check."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from conftest import ROOT

from mobilenet_repro.analysis.accuracy import curve_verdict
from mobilenet_repro.errors import ConfigError
from mobilenet_repro.models.catalog import build_classifier
from mobilenet_repro.report.accuracy import curve_words
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.training.optimizers import CoupledDecaySGD
from mobilenet_repro.training.schedules import make_schedule
from mobilenet_repro.validation import check_config


@pytest.mark.parametrize(
    ("alpha", "published"), [(0.5, 0.70e6), (0.75, 1.37e6), (1.0, 2.24e6), (1.4, 4.33e6)]
)
def test_chenyaofo_network_has_the_published_parameter_counts(alpha, published):
    model = build_classifier("chenyaofo_mobilenet_v2", classes=10, resolution=32, alpha=alpha)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert round(trainable / 1e4) == round(published / 1e4)  # printed to 0.01M


def test_epoch_cosine_equals_pytorchs_cosine_annealing_stepped_per_epoch():
    recipe = {
        "learning_rate": 0.1,
        "warmup_steps": None,
        "warmup_epochs": 0,
        "schedule": "cosine",
        "schedule_epochs": 200,
        "schedule_per": "epoch",
    }
    schedule = make_schedule(recipe, total=10 * 196, steps_per_epoch=196)
    for epoch in (0, 1, 9):
        expected = 0.05 * (1 + math.cos(math.pi * epoch / 200))
        for step in (epoch * 196, epoch * 196 + 195):
            assert float(schedule(step)) == pytest.approx(expected, rel=1e-6)


def test_coupled_weight_decay_goes_through_the_gradient():
    w = keras.Variable(np.array([1.0, -2.0], dtype="float32"))
    opt = CoupledDecaySGD(l2=0.1, learning_rate=0.5)
    opt.apply([keras.ops.zeros((2,))], [w])
    # PyTorch SGD(weight_decay=0.1), no momentum: w -= lr * (grad + 0.1 * w)
    np.testing.assert_allclose(np.asarray(w), [1.0 - 0.05, -2.0 + 0.1], rtol=1e-6)


def test_curve_verdict_uses_the_last_half_and_says_inconclusive_inside_noise():
    theirs = {e: 70.0 + e for e in range(1, 11)}
    close = {e: v + (0.3 if e % 2 else -0.3) for e, v in theirs.items()}
    assert curve_verdict(close, theirs)["curve_verdict"] == "reproduced"
    far = {e: v - 8 + (0.3 if e % 2 else -0.3) for e, v in theirs.items()}
    assert curve_verdict(far, theirs)["curve_verdict"] == "not_reproduced"
    noisy = {e: v + (3 if e % 2 else -3) for e, v in theirs.items()}
    out = curve_verdict(noisy, theirs)
    assert out["curve_verdict"] == "inconclusive"
    assert (out["curve_from"], out["curve_to"], out["curve_epochs"]) == (6, 10, 5)
    assert "epochs 6-10" in curve_words(out)
    short = curve_verdict({1: 70.0, 2: 71.0}, theirs)
    assert short == {"curve_verdict": "no_verdict", "curve_epochs": 2, "curve_tolerance_points": 2}
    assert curve_words(short).startswith("2 epochs in common")


def _calibration():
    import yaml

    return yaml.safe_load((ROOT / "config/cifar10-calibration.yaml").read_text())


def test_validating_on_test_refuses_early_stopping_and_needs_no_val_split():
    config = _calibration()
    check_config(config)
    config["recipes"]["chenyaofo_sgd_cosine200"]["early_stopping_patience"] = 3
    with pytest.raises(ConfigError, match="validate_on: received 'test'"):
        check_config(config)
    config = _calibration()
    config["recipes"]["chenyaofo_sgd_cosine200"]["validate_on"] = "val"
    with pytest.raises(ConfigError, match="val_fraction: received 0"):
        check_config(config)


def test_weight_decay_outside_sgd_and_a_short_schedule_are_refused():
    config = _calibration()
    recipe = config["recipes"]["chenyaofo_sgd_cosine200"]
    recipe.update(optimizer="adam", nesterov=False)
    with pytest.raises(ConfigError, match="weight_decay: received 0.0005 with optimizer 'adam'"):
        check_config(config)
    config = _calibration()
    config["recipes"]["chenyaofo_sgd_cosine200"]["schedule_epochs"] = 5
    with pytest.raises(ConfigError, match="schedule_epochs: received 5"):
        check_config(config)


def test_recipe_keys_at_their_defaults_leave_run_specs_unchanged(tiny_config):
    config = check_config(tiny_config)
    spec = run_spec(config, "tiny", "digits", "v1_025_32", 0)
    assert "validate_on" not in spec["recipe"] and "weight_decay" not in spec["recipe"]
