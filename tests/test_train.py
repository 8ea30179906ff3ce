"""Training entry point: outputs, determinism per seed, divergence, resume after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT

from mobilenet_repro.config import check_config, run_spec
from mobilenet_repro.data import prepare_dataset, save_dataset


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    ds = prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 10}, "resources")
    save_dataset(ds, path)
    return path


def _spec(config, **recipe):
    config["recipes"]["quick"].update(recipe)
    config = check_config(config)
    return run_spec(config, "tiny", "digits", "v1_025_32", 0)


def _outputs(directory):
    return {
        "metrics": directory / "metrics.json",
        "history": directory / "history.csv",
        "schedule": directory / "lr_schedule.csv",
        "model": directory / "model.keras",
    }


def _train(spec, data, directory):
    from mobilenet_repro.train import train_run

    return train_run(spec, data, _outputs(directory), directory / "ckpt", threads=1)


def test_same_seed_same_metrics_and_all_outputs(tiny_config, digits_npz, tmp_path):
    spec = _spec(tiny_config)
    first = _train(spec, digits_npz, tmp_path / "a")
    second = _train(spec, digits_npz, tmp_path / "b")
    for key in ("test_top1", "test_loss", "val_top1", "params", "mult_adds"):
        assert first[key] == second[key], key
    history = pd.read_csv(tmp_path / "a" / "history.csv")
    assert list(history["epoch"]) == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(history)
    schedule = pd.read_csv(tmp_path / "a" / "lr_schedule.csv")
    peak = schedule["learning_rate"].idxmax()
    assert schedule["learning_rate"].iloc[0] < schedule["learning_rate"].iloc[peak]  # warm-up
    decay = schedule["learning_rate"].iloc[peak:]
    assert decay.is_monotonic_decreasing and decay.iloc[-1] < 0.2 * decay.iloc[0]  # cosine
    saved = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert "tensorflow" in saved["versions"] or "tensorflow-cpu" in saved["versions"]
    assert saved["hardware"]["threads"] == 1 and saved["seed"] == 0
    assert not (tmp_path / "a" / "ckpt").exists()  # checkpoint removed once published


def test_diverging_run_fails_and_publishes_nothing(tiny_config, digits_npz, tmp_path):
    from mobilenet_repro.train import TrainingDiverged

    spec = _spec(tiny_config, learning_rate=1e6, optimizer="rmsprop", warmup_epochs=0)
    with pytest.raises(TrainingDiverged, match=r"tiny/digits/v1_025_32/seed0 diverged.*epoch 1"):
        _train(spec, digits_npz, tmp_path)
    assert not (tmp_path / "metrics.json").exists()


KILL_SCRIPT = """
import json, sys
from mobilenet_repro.train import train_run
spec = json.loads(sys.argv[1])
out = {k: sys.argv[2] + "/" + v for k, v in
       dict(metrics="metrics.json", history="history.csv", schedule="lr_schedule.csv",
            model="model.keras").items()}
train_run(spec, sys.argv[3], out, sys.argv[2] + "/ckpt", threads=1)
"""


def test_killed_run_resumes_from_last_epoch(tiny_config, digits_npz, tmp_path):
    spec = _spec(tiny_config, epochs=3)
    cmd = [sys.executable, "-c", KILL_SCRIPT, json.dumps(spec), str(tmp_path), str(digits_npz)]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 300
    for line in proc.stderr:
        if "epoch 1/3" in line:
            os.kill(proc.pid, signal.SIGKILL)  # as a scheduler or the OOM killer would
            break
        assert time.time() < deadline
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["epoch"] == 1
    assert not (tmp_path / "metrics.json").exists()

    resumed = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    assert "resuming from checkpoint after epoch 1/3" in resumed.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["resumed"] is True
    assert metrics["epochs_trained_last_invocation"] == 2
    assert list(pd.read_csv(tmp_path / "history.csv")["epoch"]) == [1, 2, 3]
