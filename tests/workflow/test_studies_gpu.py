"""Smoke test: studies/gpu.py runs the pipeline's builders under each dtype policy and writes JSON.

Here it runs on the CPU with Keras on TensorFlow, the one backend the test install has; the
GPU figures are in README "Performance" and studies/results/gpu_h200.json. No timings asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_gpu_benchmark_runs_each_policy_on_the_same_model(tmp_path):
    out = tmp_path / "gpu.json"
    cmd = [sys.executable, str(ROOT / "studies" / "gpu.py"), "--backends", "keras-tensorflow"]
    cmd += ["--no-xla", "--models", "cifar_mobilenetv2_1.00_32", "--policies", "float32"]
    cmd += ["mixed_bfloat16", "--steps", "2", "--reps", "1", "--batch", "8", "--out", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]

    data = json.loads(out.read_text())
    entry = data["backends"]["keras-tensorflow"]
    assert entry["returncode"] == 0
    runs = {run["policy"]: run for run in entry["result"]["runs"]}
    assert set(runs) == {"float32", "mixed_bfloat16"}
    assert runs["float32"]["compute_dtype"] == "float32"
    assert runs["mixed_bfloat16"]["compute_dtype"] == "bfloat16"
    for run in runs.values():
        assert run["params"] == 1_760_362  # seed 000's architecture as built
        assert run["jit_compile_used"] is False
        assert run["finite_loss"] and run["images_per_second"] > 0
    rows = {row["policy"]: row for row in data["summary"]["table"]}
    # The summary is the runs' own throughputs, and bf16 is set against float32 of the same
    # model and backend (not against itself or another run).
    for policy, run in runs.items():
        assert rows[policy]["images_per_second"] == run["images_per_second"]
    expected = runs["mixed_bfloat16"]["images_per_second"] / runs["float32"]["images_per_second"]
    assert rows["mixed_bfloat16"]["vs_float32"] == pytest.approx(expected, rel=1e-12)
