"""Smoke test: studies/throughput.py measures (a) the training entry point and (b) bare Keras.

Runs without PyTorch and without the real CIFAR-10: a small random data set stands in for
the prepared cache. No timings are asserted (they depend on the machine and its load).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

MODEL = "cifar_mobilenetv2_0.25_32"


def fake_cifar(path, per_split=(32, 8, 8)):
    """A prepared CIFAR-10 cache of random 32x32 images, at the path --cache names."""
    from mobilenet_repro.data import ImageDataset, save_dataset

    rng = np.random.default_rng(0)
    splits = {
        split: (
            rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, n, dtype=np.int64),
        )
        for split, n in zip(("train", "val", "test"), per_split, strict=True)
    }
    save_dataset(ImageDataset("cifar10_jpeg", [f"c{i}" for i in range(10)], splits), path)


def test_pipeline_against_bare_keras(tmp_path):
    fake_cifar(tmp_path / "cifar10_jpeg.npz")
    out = tmp_path / "throughput.json"
    cmd = [
        sys.executable,
        str(ROOT / "studies" / "throughput.py"),
        *("--systems", "pipeline", "keras", "--models", MODEL),
        *("--steps", "2", "--skip", "1", "--reps", "1", "--batch-size", "4"),
        *("--eval-images", "8", "--threads", "1", "--inter-op-threads", "1"),
        *(
            "--archive",
            str(tmp_path / "absent.tar.gz"),
            "--cache",
            str(tmp_path / "cifar10_jpeg.npz"),
        ),
        *("--out", str(out)),
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-6000:]

    model = json.loads(out.read_text())["models"][MODEL]
    for system in ("pipeline", "keras"):
        assert model["systems"][system]["median_images_per_second"] > 0
    assert model["ratios"]["pipeline/keras"]["median_paired"] > 0
    keras_setup = model["systems"]["keras"]["setup"]
    job = model["systems"]["pipeline"]["job"]
    assert job["input"] == "tf.data"
    assert keras_setup["inter_op_threads"] == job["inter_op_threads"] == 1
    assert keras_setup["mult_adds"] == model["mult_adds"] > 0
