"""studies/ablation_record.py on a made-up record: each arm against the reference arm on
validation, the validation images counted once, two seeds never called a finding."""

from __future__ import annotations

import json

from conftest import load_study


def _run(folder, seed, val, test):
    run = folder / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "history.csv").write_text(f"epoch,val_accuracy\n1,0.1\n2,{val}\n")
    metrics = {"seed": seed, "val_images": 5000, "test_top1": test, "train_seconds": 1.0}
    (run / "metrics.json").write_text(json.dumps(metrics))


def test_each_arm_is_judged_against_the_reference_on_validation(tmp_path):
    record = load_study("ablation_record")
    for seed, (ref, far, near) in enumerate([(0.80, 0.86, 0.805), (0.81, 0.87, 0.81)]):
        _run(tmp_path / record.REFERENCE, seed, ref, 0.5)
        _run(tmp_path / "far", seed, far, 0.5)
        _run(tmp_path / "near", seed, near, 0.5)
    summary = record.main(tmp_path)
    assert summary["far"]["difference"] > 0.05
    assert "fewer than three seeds" in summary["far"]["finding"]  # two seeds: not a finding
    assert summary["near"]["finding"] == "tied within the validation set's noise"
    assert (tmp_path / "table.md").read_text().count("| far |") == 3
    assert "difference" not in summary[record.REFERENCE]


def test_a_second_stage_arm_is_judged_against_the_arm_it_changes(tmp_path):
    record = load_study("ablation_record")
    arm, against = next(iter(record.AGAINST.items()))
    for seed in (0, 1):
        _run(tmp_path / record.REFERENCE, seed, 0.70, 0.5)
        _run(tmp_path / against, seed, 0.80, 0.5)
        _run(tmp_path / arm, seed, 0.81, 0.5)
    summary = record.main(tmp_path)
    assert summary[arm]["against"] == against
    assert abs(summary[arm]["difference"] - 0.01) < 1e-9  # not +0.11 against the reference
    assert (
        f"| {arm} | mean of 2 | 81.00% | | against {against}: +1.00 points"
        in (tmp_path / "table.md").read_text()
    )


def test_the_weight_average_arm_is_read_with_its_recomputed_statistics(tmp_path):
    """Its history.csv holds the raw weights' validation during training: the arm is judged
    on the averaged weights after the statistics were recomputed, and the average is set
    against the raw weights of the same run."""
    record = load_study("ablation_record")
    _run(tmp_path / record.REFERENCE, 0, 0.80, 0.5)
    _run(tmp_path / "ema", 0, 0.10, 0.5)  # the raw weights' last validation: not read
    metrics_file = tmp_path / "ema/seed0/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["recipe"] = {"ema_decay": 0.998}
    metrics["precise_bn"] = {"val_top1_before": 0.10, "val_top1_after": 0.82}
    metrics["test_top1_variants"] = {"ema": 0.83, "raw": 0.81, "ema_flip": 0.84, "raw_flip": 0.82}
    metrics_file.write_text(json.dumps(metrics))
    summary = record.main(tmp_path)
    assert summary["ema"]["val_mean"] == 0.82
    table = (tmp_path / "table.md").read_text()
    assert "| ema | 0 | 81.00% | 83.00% (+2.00) | 84.00% (+2.00 against raw flipped) |" in table


def test_test_time_views_get_the_mean_gain_over_runs_with_a_t_interval(tmp_path):
    record = load_study("ablation_record")
    for seed, gain in enumerate([0.01, 0.012, 0.008]):
        _run(tmp_path / record.REFERENCE, seed, 0.8, 0.8)
        top1 = {"plain": 0.8, "flip": 0.8 + gain, "translate": 0.8, "flip_translate": 0.8 + gain}
        (tmp_path / record.REFERENCE / f"seed{seed}/tta.json").write_text(
            json.dumps({"test_top1": top1})
        )
    record.main(tmp_path)
    row = (tmp_path / "table.md").read_text().splitlines()[-1]
    # mean +1.00 points, std 0.2 over 3 runs: t(2) = 4.30, half-width 4.30 * 0.2 / sqrt(3) = 0.50
    assert row.startswith("| mean gain over 3 runs (95% t-interval) | | | +1.00 (+0.50 to +1.50)")
