"""Smoke test: the benchmark command runs with tiny settings and writes its JSON.

No timings are asserted (they depend on the machine and its load); see README "Performance"
for the figures and studies/run.py for the full run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import ROOT, SHARED_CIFAR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None,
        reason='PyTorch is absent: pip install -c constraints.txt -e ".[studies]"',
    ),
    pytest.mark.skipif(
        not SHARED_CIFAR.exists(),
        reason=f"real CIFAR-10 archive absent: {SHARED_CIFAR} (see ../shared/data/README.md)",
    ),
]


def test_quick_benchmark_writes_every_json(tmp_path):
    cmd = [sys.executable, str(ROOT / "studies" / "run.py"), "--quick", "--out-dir", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr[-6000:]

    throughput = json.loads((tmp_path / "throughput.json").read_text())
    (model,) = throughput["models"].values()
    for system in ("pipeline", "keras", "torch"):
        assert len(model["systems"][system]["images_per_second"]) == 1
        assert model["systems"][system]["median_images_per_second"] > 0
    assert model["trainable_params"]["keras"] == model["trainable_params"]["torch"]
    assert set(model["ratios"]) >= {"pipeline/keras", "pipeline/torch"}
    assert model["pipeline_flops"]["median_fraction_of_matmul_peak"] > 0
    assert throughput["matmul"]["median_gflops"] > 0
    assert throughput["hardware"]["cpu_count"] and throughput["versions"]["keras"]

    workflow = json.loads((tmp_path / "workflow.json").read_text())
    assert workflow["noop"]["all_nothing_to_do"]
    assert workflow["report_only"]["only_report_ran"]
    assert workflow["end_to_end"]["jobs"]["train"] == 1
    assert workflow["train_jobs"]["summary"]["jobs"] == 1

    summary = json.loads((tmp_path / "summary.json").read_text())
    figures = {row["figure"] for row in summary["figures"]}
    assert any("pipeline/keras" in f for f in figures)
    assert any(f.startswith("no-op rerun") for f in figures)
    assert "| figure | value | target | ratio to target |" in result.stdout
