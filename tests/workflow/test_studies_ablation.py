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
