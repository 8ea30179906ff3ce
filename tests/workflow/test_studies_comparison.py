"""studies/comparison_throughput.py on the comparison configuration's smallest network: one JSON
line with training and evaluation throughput, so the budget arithmetic of docs/comparisons.md
can be redone on another machine; studies/comparison_record.py on a checkout of two runs."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, load_study


def test_comparison_throughput_prints_its_record():
    cmd = [sys.executable, str(ROOT / "studies/comparison_throughput.py"),
           str(ROOT / "config/cifar10-comparison.yaml"), "mobilenetv2_0.50_32",
           "--steps", "2", "--batch-size", "8"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["model"] == "mobilenetv2_0.50_32" and record["params"] == 719_034
    assert record["batch"] == 8 and record["steps"] == 2
    assert record["train_img_per_cpu_s"] > 0 and record["eval_img_per_cpu_s"] > 0


def _finished_run(checkout, run_id, stopped_early, cpu_time):
    run_dir = checkout / "results/runs" / run_id
    run_dir.mkdir(parents=True)
    dataset, model, seed = run_id.split("/")[1:]
    metrics = {"dataset": dataset, "model": model, "seed": int(seed[4:]), "classes": 10,
               "train_images": 100, "test_top1": 0.2, "val_top1": 0.21, "train_top1": 0.9,
               "steps": 2000, "max_steps": 5000 if stopped_early else 2000,
               "tested_step": 1000, "stopped_early": stopped_early, "train_seconds": 60.0,
               "hardware": {"cpu": "AMD EPYC"}}  # fmt: skip
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "history.csv").write_text("step,val_accuracy\n1000,0.21\n")
    bench = checkout / "benchmarks/train" / f"{run_id}.tsv"
    bench.parent.mkdir(parents=True, exist_ok=True)
    bench.write_text(f"s\th:m:s\tcpu_time\n70.0\t0:01:10\t{cpu_time}\n")


def test_comparison_record_collects_runs_and_counts_the_cap(tmp_path):
    """Finished runs are copied under their run ids (where studies/rerender_record.py looks),
    a run without metrics.json is left out, and the summary adds CPU-seconds and names each
    run the step cap ended."""
    record_script = load_study("comparison_record")
    checkout, record = tmp_path / "checkout", tmp_path / "record"
    _finished_run(checkout, "cifar10_comparison/cifar10_jpeg_10/vgg/seed0", True, 1800.0)
    _finished_run(checkout, "cifar10_comparison/cifar10_jpeg_10/vgg/seed1", False, 1800.0)
    (checkout / "results/runs/cifar10_comparison/cifar10_jpeg_10/vgg/seed2").mkdir()
    assert record_script.main([str(record), "--collect", str(checkout)]) == 0
    copied = record / "cifar10_comparison/cifar10_jpeg_10/vgg/seed0"
    assert {f.name for f in copied.iterdir()} == {"metrics.json", "history.csv", "benchmark.tsv"}
    summary = json.loads((record / "summary.json").read_text())
    assert summary["runs"] == 2 and summary["cpu_hours"] == 1.0
    assert summary["cut_by_cap"] == ["vgg 10/class seed 1"]
    assert "the 2,000-step cap" in (record / "runs.md").read_text()
