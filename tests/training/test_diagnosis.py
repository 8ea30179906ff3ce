"""A run that trains well but validates at chance is named, with cause and fix
(training.diagnosis)."""

from __future__ import annotations

import io

import pytest

from mobilenet_repro import jobs
from mobilenet_repro.training.diagnosis import record_warnings, run_warnings

RUN = "mnist/mnist/cifar_mobilenetv2_0.50_32/seed0"


def _metrics(train_top1, val_top1, precise_bn=None, bn_momentum=None):
    """metrics.json of a 96-step, 10-class run, as train_run writes it."""
    metrics = {
        "run": RUN,
        "classes": 10,
        "steps": 96,
        "train_top1": train_top1,
        "val_top1": val_top1,
        "recipe": {"bn_momentum": bn_momentum, "precise_bn_batches": 0},
    }
    if precise_bn:
        metrics["precise_bn"] = precise_bn
    return metrics


# The history.csv row of the tested weights: training accuracy 97.5% (training mode).
ROW = {"epoch": 3, "step": 96, "accuracy": 0.975, "val_accuracy": 0.097}


def test_stale_batch_norm_statistics_are_named_with_cause_and_fix(monkeypatch):
    """The MNIST case: 97.5% training accuracy, validation 9.7%, and the network in inference
    mode at chance on its own training images."""
    terminal = io.StringIO()
    monkeypatch.setattr(jobs, "_terminal", {"handle": terminal, "job": "rule train", "log": "l"})
    metrics = _metrics(train_top1=0.101, val_top1=0.097)
    record_warnings(metrics, ROW)
    (warning,) = metrics["warnings"]
    assert warning["kind"] == "bn_statistics_stale"
    assert warning["train_accuracy"] == 0.975 and warning["val_top1"] == 0.097
    assert warning["chance"] == pytest.approx(0.1)
    assert "architecture's own bn_momentum is too slow for 96 steps" in warning["cause"]
    assert "precise_bn_batches" in warning["fix"] and "bn_momentum: 0.9" in warning["fix"]
    shown = terminal.getvalue()
    assert shown.startswith("rule train warning:\n    [" + RUN + "] training accuracy 97.5%")
    assert "validation 9.7%" in shown and "Likely cause" in shown and "Fix" in shown


def test_stale_statistics_are_named_for_a_run_still_learning():
    """MobileNetV2 0.35 in the MNIST case: 35% training accuracy, inference at chance."""
    metrics = _metrics(train_top1=0.10, val_top1=0.099)
    (warning,) = run_warnings(metrics, ROW | {"accuracy": 0.3465})
    assert warning["kind"] == "bn_statistics_stale"


def test_memorising_a_training_set_is_not_blamed_on_batch_norm():
    (warning,) = run_warnings(_metrics(train_top1=0.99, val_top1=0.11), ROW)
    assert warning["kind"] == "not_generalising"


def test_a_validation_curve_measured_with_stale_statistics_is_named():
    """Statistics recomputed at the end: the tested network is fine, the curve was not."""
    bn = {"batches": 10, "images": 320, "val_top1_before": 0.097, "val_top1_after": 0.95}
    (warning,) = run_warnings(_metrics(0.99, 0.097, precise_bn=bn), ROW)
    assert warning["kind"] == "validation_curve_stale"
    assert warning["val_top1_before"] == 0.097 and warning["val_top1"] == 0.95
    assert "bn_momentum: 0.9" in warning["fix"]


@pytest.mark.parametrize(
    "train_accuracy, train_top1, val_top1",
    [
        (0.975, 0.97, 0.95),  # learned
        (0.20, 0.10, 0.10),  # training accuracy near chance: an undertrained run
        (0.50, 0.90, 0.10),  # fits its training images, but not far above chance: too short
        (None, 0.10, 0.10),  # no training accuracy recorded
        (0.12, 0.10, "at chance before and after"),  # statistics recomputed, nothing learned
    ],
)
def test_healthy_or_merely_undertrained_runs_have_no_warning(train_accuracy, train_top1, val_top1):
    if val_top1 == "at chance before and after":
        bn = {"batches": 10, "images": 320, "val_top1_before": 0.1, "val_top1_after": 0.1}
        metrics = _metrics(train_top1, 0.1, precise_bn=bn)
    else:
        metrics = _metrics(train_top1, val_top1)
    record_warnings(metrics, ROW | {"accuracy": train_accuracy})
    assert metrics["warnings"] == []
