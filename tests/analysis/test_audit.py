"""Determinism audit: field-by-field comparison of a re-trained run with its original."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mobilenet_repro.analysis.audit import (
    audit_runs,
    audit_table,
    compare_history,
    compare_metrics,
    default_runs,
)
from mobilenet_repro.report.audit import audit_context
from mobilenet_repro.runs import Run

METRICS = {
    "run": "e/d/m/seed0",
    "test_top1": 0.8125,
    "test_loss": 0.61,
    "params": 1000,
    "recipe": {"learning_rate": 0.002, "epochs": 2},
    "train_seconds": 9.5,
    "images_per_second": 100.0,
    "timings": {"fit": 9.0},
    "versions": {"keras": "3.15.1"},
    "hardware": {"threads": 1, "cpu": "x"},
}
HISTORY = pd.DataFrame(
    {"epoch": [1, 2], "loss": [1.5, 0.9], "val_accuracy": [0.5, 0.7], "seconds": [4.0, 3.9]}
)


def write_run(folder, metrics, history):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    history.to_csv(folder / "history.csv", index=False)
    return folder


def test_the_same_numbers_are_identical_whatever_the_wall_clock():
    rerun = {**METRICS, "train_seconds": 12.0, "images_per_second": 80.0, "timings": {"fit": 1}}
    rows = compare_metrics("r", METRICS, rerun)
    assert all(r["identical"] for r in rows)
    fields = {r["field"] for r in rows}
    assert {"test_top1", "recipe.learning_rate", "hardware.threads"} <= fields
    assert not fields & {"train_seconds", "images_per_second", "timings.fit"}
    slower = HISTORY.assign(seconds=[9.0, 9.0])
    assert all(r["identical"] for r in compare_history("r", HISTORY, slower))


def test_a_perturbed_run_is_reported_field_by_field(tmp_path):
    original = write_run(tmp_path / "a", METRICS, HISTORY)
    perturbed = {**METRICS, "test_top1": 0.8, "hardware": {"threads": 2, "cpu": "x"}}
    audit = write_run(tmp_path / "b", perturbed, HISTORY.assign(loss=[1.5, 0.95]))
    table = audit_table([("e/d/m/seed0", original, audit)])
    differ = table[~table["identical"]]
    assert set(zip(differ["field"], differ["kind"], strict=True)) == {
        ("test_top1", "result"),
        ("loss@epoch2", "result"),
        ("hardware.threads", "context"),
    }
    top1 = differ[differ["field"] == "test_top1"].iloc[0]
    assert top1["difference"] == pytest.approx(-0.0125)
    path = tmp_path / "audit.csv"
    table.to_csv(path, index=False)
    [run] = audit_context(path)["runs"]
    assert not run["identical"] and run["n_differ"] == 2
    assert run["context"] == ["hardware.threads: 1 → 2 (+1)"]
    assert [d["field"] for d in run["differ"]] == [
        "metrics.json: test_top1",
        "history.csv: loss@epoch2",
    ]


def test_without_an_audit_file_the_report_says_not_run(tmp_path):
    assert audit_context(tmp_path / "audit.csv") == {"run": False}
    assert audit_context(None) == {"run": False}


def test_the_runs_audited_by_default_and_unknown_ones():
    config = {
        "experiments": {
            "a": {"datasets": ["d"], "models": ["m", "n"], "seeds": [3, 4]},
            "b": {"datasets": ["d2"], "models": ["n"], "seeds": [0]},
        }
    }
    assert default_runs(config) == ["a/d/m/seed3", "b/d2/n/seed0"]
    runs = [Run("a", "d", "m", 3), Run("a", "d", "n", 3), Run("b", "d2", "n", 0)]
    assert audit_runs(config, runs) == [runs[0], runs[2]]
    config["audit_runs"] = ["a/d/n/seed3"]
    assert audit_runs(config, runs) == [runs[1]]
    config["audit_runs"] = ["a/d/x/seed3"]
    with pytest.raises(ValueError, match="audit_runs: a/d/x/seed3 is not a run of this"):
        audit_runs(config, runs)
