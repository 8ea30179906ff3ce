"""Seed 002's comparisons and the "did not learn" marking, on run files written here."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mobilenet_repro.analysis.results import results_table
from mobilenet_repro.analysis.seed002 import TABLES, compare
from mobilenet_repro.report.seed002 import seed002_context
from mobilenet_repro.training.diagnosis import CHANCE_MARGIN, learned

# (model, data set, per class, seed) -> validation accuracy every 10 steps and test/train top-1
CURVES = {
    ("fast", "big", 100, 0): ([0.5, 0.8, 0.9, 0.9], 0.88, 0.95),
    ("fast", "big", 100, 1): ([0.6, 0.85, 0.92, 0.91], 0.90, 0.97),
    ("slow", "big", 100, 0): ([0.2, 0.4, 0.7, 0.82], 0.80, 0.85),
    ("slow", "big", 100, 1): ([0.2, 0.5, 0.75, 0.80], 0.78, 0.84),
    ("fast", "small", 10, 0): ([0.3, 0.5, 0.6, 0.6], 0.55, 1.0),
    ("fast", "small", 10, 1): ([0.3, 0.5, 0.6, 0.6], 0.57, 1.0),
    ("slow", "small", 10, 0): ([0.1, 0.1, 0.12, 0.1], 0.11, 0.3),
    ("slow", "small", 10, 1): ([0.1, 0.1, 0.1, 0.1], 0.10, 0.2),
    # At chance on the large set: it must neither set the common target nor be ranked.
    ("stuck", "big", 100, 0): ([0.1, 0.12, 0.1, 0.1], 0.10, 0.1),
}


def write_runs(root):
    files = []
    for (model, dataset, per_class, seed), (val, test, train) in CURVES.items():
        d = root / dataset / model / f"seed{seed}"
        d.mkdir(parents=True)
        steps = [10 * (i + 1) for i in range(len(val))]
        pd.DataFrame(
            {
                "epoch": [s / 5 for s in steps],
                "step": steps,
                "images": [s * 32 for s in steps],
                "val_accuracy": val,
                "seconds": [2.0] * len(val),
            }
        ).to_csv(d / "history.csv", index=False)
        best = max(range(len(val)), key=lambda i: (val[i], -i))
        metrics = {
            "dataset": dataset,
            "model": model,
            "seed": seed,
            "classes": 10,
            "train_images": per_class * 10,
            "test_top1": test,
            "val_top1": val[best],
            "train_top1": train,
            "steps": steps[-1],
            "max_steps": 100,
            "tested_step": steps[best],
            "stopped_early": True,
            "train_seconds": 8.0,
            "epochs": steps[-1] / 5,
        }
        (d / "metrics.json").write_text(json.dumps(metrics))
        files.append(d / "metrics.json")
    return files


def test_learned_is_more_than_the_margin_above_chance():
    assert not learned(0.1 + CHANCE_MARGIN, 10) and learned(0.1 + CHANCE_MARGIN + 0.01, 10)
    assert learned(0.56, 2) and not learned(0.549, 2)


def test_three_comparisons_from_run_files(tmp_path):
    tables = compare(write_runs(tmp_path))
    a = tables["steps_to_accuracy"].set_index("model")
    # The target is the lowest best validation accuracy on the largest set: slow seed 1's 0.80.
    assert a["target"].iloc[0] == pytest.approx(0.80)
    assert a.loc["fast", "steps_mean"] == 20 and a.loc["fast", "reached"] == 2
    assert a.loc["slow", "steps_mean"] == 40 and a.loc["slow", "steps_std"] == 0
    assert a.loc["stuck", "reached"] == 0
    assert a.loc["fast", "seconds_mean"] == 4.0 and a.loc["fast", "images_mean"] == 640

    configured = compare(write_runs(tmp_path / "again"), configured_target=0.85)
    reached = configured["steps_to_accuracy"].set_index("model")["reached"]
    assert reached["fast"] == 2 and reached["slow"] == 0  # shown as not reached

    b = tables["fully_trained"].set_index("model")
    assert b.loc["fast", "test_top1_mean"] == pytest.approx(0.89)
    assert b.loc["slow", "tested_step_mean"] == 40 and bool(b.loc["slow", "learned"])
    assert not b.loc["stuck", "learned"]

    c = tables["training_set_size"].set_index(["model", "per_class"])
    assert c.loc[("fast", 10), "gap_mean"] == pytest.approx(0.44)
    assert not c.loc[("slow", 10), "learned"] and c.loc[("slow", 100), "learned"]


def test_findings_name_the_ranking_and_never_rank_a_model_at_chance(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    for name, table in compare(write_runs(tmp_path / "runs")).items():
        table.to_csv(folder / TABLES[name], index=False)
    labels = {"fast": "Fast net", "slow": "Slow net", "stuck": "Stuck net"}
    ctx = seed002_context(folder, list(TABLES), labels, figure=lambda name: None)
    # Two seeds: means alone, no spread (two seeds measure none).
    assert ctx["steps_to_accuracy"]["finding"].startswith(
        "Fast net reached 80.0% validation top-1 first, after 20 optimizer steps"
    )
    # Without a test-set size the finding lists the accuracies and ranks nothing.
    b = ctx["fully_trained"]["finding"]
    assert "Fast net 89.0%" in b and "±" not in b and "most accurate" not in b
    c = ctx["training_set_size"]["finding"]
    assert "With 10 training images per class, Fast net had the highest mean test top-1, 56.0%" in c
    assert c.endswith(
        "Did not learn (within the chance margin): Slow net at 10 per class and Stuck net at "
        "100 per class."
    )
    b = ctx["fully_trained"]["finding"]
    assert "Did not learn (within the chance margin): Stuck net." in b
    assert "Not reached by every seed: Stuck net." in ctx["steps_to_accuracy"]["finding"]
    assert "Slow net" not in c.split("highest mean test top-1")[1].split(".")[0]


def test_results_table_marks_a_run_at_chance():
    runs = pd.DataFrame(
        {
            "experiment": "e",
            "dataset": "d",
            "model": ["good", "good", "chance", "chance"],
            "arch": "a",
            "alpha": 1.0,
            "resolution": 32,
            "seed": [0, 1, 0, 1],
            "params": 1,
            "mult_adds": 1,
            "test_top1": [0.9, 0.92, 0.11, 0.12],
            "train_seconds": 1.0,
            "images_per_second": 1.0,
            "classes": 10,
        }
    )
    table = results_table(runs).set_index("model")
    assert table.loc["good", "learned"] and not table.loc["chance", "learned"]


def test_three_seeds_give_intervals_of_means_and_differences(tmp_path):
    """From three seeds each table carries the 95% interval of its means (steps: Student's t
    over seeds; accuracies and the gap: the seeds' spread plus the test set's noise), and the
    findings rank by the interval of the difference."""
    from mobilenet_repro.analysis.noise import mean_interval

    CURVES.update({("fast", "big", 100, 2): ([0.5, 0.82, 0.9, 0.9], 0.89, 0.96),
                   ("slow", "big", 100, 2): ([0.2, 0.45, 0.85, 0.81], 0.79, 0.85)})  # fmt: skip
    try:
        files = [f for f in write_runs(tmp_path / "runs") if "stuck" not in str(f)]
    finally:
        del CURVES[("fast", "big", 100, 2)], CURVES[("slow", "big", 100, 2)]
    for f in files:
        f.write_text(json.dumps(json.loads(f.read_text()) | {"test_images": 10_000}))
    tables = compare(files)
    b = tables["fully_trained"].set_index("model")
    assert (b.loc["fast", "test_top1_low"], b.loc["fast", "test_top1_high"]) == pytest.approx(
        mean_interval([0.88, 0.90, 0.89], 10_000)
    )
    a = tables["steps_to_accuracy"].set_index("model")
    assert a.loc["slow", "steps_low"] < a.loc["slow", "steps_mean"] < a.loc["slow", "steps_high"]
    c = tables["training_set_size"].set_index(["model", "per_class"])
    assert c.loc[("fast", 100), "gap_low"] < c.loc[("fast", 100), "gap_mean"]
    assert c.loc[("fast", 10), "gap_low"] != c.loc[("fast", 10), "gap_low"]  # two seeds: NaN

    folder = tmp_path / "tables"
    folder.mkdir()
    for name, table in tables.items():
        table.to_csv(folder / TABLES[name], index=False)
    ctx = seed002_context(folder, list(TABLES), {}, figure=lambda name: None)
    assert "fast was the most accurate" in ctx["fully_trained"]["finding"]
    assert (
        "fast was ahead of slow: 95% interval of slow's steps minus fast's"
        in (ctx["steps_to_accuracy"]["finding"])
    )
    row = ctx["fully_trained"]["rows"][0]
    assert " to " in str(row["interval"]) and "row" not in row


def test_every_pair_gets_its_interval_so_the_last_network_is_answered_too():
    """The plan compares MobileNetV2 with each other network: beside the leading pair, every
    other pair's difference comes with its interval, tied or beyond the noise."""
    from mobilenet_repro.report.seed002 import fully_trained_context, steps_context

    def row(model, mean, std, top1, top1_std):
        return {"model": model, "target": 0.45, "seeds": 3, "reached": 3,
                "step_resolution": 100.0, "steps_mean": mean, "steps_std": std,
                "images_mean": mean * 25, "images_std": std * 25, "seconds_mean": 1.0,
                "seconds_std": 0.1, "dataset": "d", "classes": 10, "learned": True,
                "test_top1_mean": top1, "test_top1_std": top1_std, "val_top1_mean": top1,
                "val_top1_std": top1_std, "tested_step_mean": mean, "tested_step_std": std,
                "epochs_mean": 1.0, "epochs_std": 0.1,
                "stopped_early": 3, "max_steps": 20_000, "test_images": 10_000}  # fmt: skip

    table = pd.DataFrame(
        [
            row("mnv2", 6733, 451, 0.477, 0.042),
            row("incep", 3300, 200, 0.589, 0.028),
            row("vgg", 4733, 404, 0.571, 0.015),
        ]  # fmt: skip
    )
    steps = steps_context(table, {})["finding"]
    assert "mnv2 minus incep +3,433 steps" in steps and "mnv2 minus vgg +2,000 steps" in steps
    assert steps.count("beyond the noise") == 2
    top1 = fully_trained_context(table, {})["finding"]
    assert (
        "mnv2 minus incep -11.2 points" in top1
        and top1.count(": inside the noise: not a finding)") == 2
    )


def test_fully_trained_says_which_networks_had_not_fit_their_training_images():
    from mobilenet_repro.report.seed002 import _underfit

    table = pd.DataFrame(
        {
            "model": ["a", "b", "a", "b"],
            "per_class": [10, 10, 1000, 1000],
            "train_top1_mean": [1.0, 1.0, 0.594, 0.95],
        }  # fmt: skip
    )
    note = _underfit(table, {"a": "A"})
    assert "on 1,000 images per class, A 59.4%." in note and " b " not in note
    assert _underfit(table.assign(train_top1_mean=0.99), {}) == ""


def test_training_set_size_names_each_pair_beyond_the_noise_and_ties_the_rest():
    from mobilenet_repro.report.seed002 import _apart_by_size

    table = pd.DataFrame(
        {
            "model": ["m", "v", "m", "v"],
            "per_class": [10, 10, 100, 100],
            "seeds": 3,
            "learned": True,
            "test_top1_mean": [0.155, 0.204, 0.30, 0.31],
            "test_top1_std": [0.016, 0.006, 0.01, 0.01],
            "test_images": 10_000,
        }  # fmt: skip
    )
    text = _apart_by_size(table, {"m": "M"})
    assert text.startswith("Beyond the seeds' and the test set's noise")
    assert "M below v on 10 per class by 4.9 points" in text and "every other pair is tied" in text
    assert _apart_by_size(table.assign(seeds=2), {}) == ""
