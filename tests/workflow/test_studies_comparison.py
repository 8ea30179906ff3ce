"""studies/comparison_throughput.py on the comparison configuration's smallest network: one JSON
line with training and evaluation throughput, so the budget arithmetic of docs/comparisons.md
can be redone on another machine."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT


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
