"""studies/epoch15_record.py on a made-up record: per-seed Wilson intervals, the interval of the
mean only from three seeds (the test images counted once), the 88% goal judged on the mean."""

from __future__ import annotations

import json

import pytest
from conftest import load_study


def _run(folder, seed, top1):
    run = folder / f"seed{seed}"
    run.mkdir(parents=True)
    metrics = {
        "seed": seed,
        "test_top1": top1,
        "tested_variant": "raw_flip_translate",
        "test_top1_variants": {"raw": top1 - 0.01, "raw_flip_translate": top1},
        "test_images": 10000,
        "epochs": 15,
        "train_images": 50000,
        "train_seconds": 4000.0,
        "images_per_second": 190.0,
        "hardware": {"cpu": "AMD EPYC"},
    }
    (run / "metrics.json").write_text(json.dumps(metrics))


def test_two_seeds_give_values_not_a_mean(tmp_path):
    record = load_study("epoch15_record")
    for seed, top1 in enumerate([0.885, 0.879]):
        _run(tmp_path, seed, top1)
    record.main([str(tmp_path)])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "interval_of_mean" not in summary and "goal_met" not in summary
    low, high = summary["seeds"][0]["interval"]
    assert low < 0.885 < high and high - low == pytest.approx(0.0125, abs=0.001)
    assert "2 of 3 seeds" in (tmp_path / "table.md").read_text()


def test_three_seeds_judge_the_goal_on_the_mean(tmp_path):
    record = load_study("epoch15_record")
    for seed, top1 in enumerate([0.885, 0.879, 0.881]):
        _run(tmp_path, seed, top1)
    record.main([str(tmp_path)])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["mean_test_top1"] == pytest.approx(0.8817, abs=1e-4)
    low, high = summary["interval_of_mean"]
    assert low < 0.8817 < high
    assert summary["goal_met"] is True
    text = (tmp_path / "table.md").read_text()
    assert "88.17%" in text and "goal met" in text and "AMD EPYC" in text
