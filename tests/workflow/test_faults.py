"""Faults and bad input: clear errors before expensive work, nothing computed lost.

The Snakemake-level cases run the real workflow on one tiny run in a temporary directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, TINY_CONFIG, copy_workflow

RUN = "results/runs/tiny/digits/v1_025_32/seed0"
RUN_LOG = "logs/train/tiny/digits/v1_025_32/seed0.log"


def one_run_config(workdir: Path, **recipe) -> Path:
    config = json.loads(json.dumps(TINY_CONFIG))
    config["models"] = {"v1_025_32": {"arch": "mobilenet_v1", "alpha": 0.25, "resolution": 32}}
    config["experiments"]["tiny"].update(models=["v1_025_32"], seeds=[0, 1])
    config["recipes"]["quick"].update(recipe)
    config["checkpoint_every_seconds"] = 0  # a checkpoint at every epoch: there is one to kill
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def snakemake_cmd(workdir: Path, *args) -> list[str]:
    """Snakemake on a copy of the workflow in `workdir`, so the checkout's state plays no part."""
    if not (workdir / "Snakefile").exists():
        copy_workflow(workdir)
    return [sys.executable, "-m", "snakemake", "--snakefile", str(workdir / "Snakefile"),
            "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
            "--cores", "1", *args]  # fmt: skip


def run(workdir, *args, timeout=900):
    return subprocess.run(
        snakemake_cmd(workdir, *args), capture_output=True, text=True, timeout=timeout
    )


def wait_for(path: Path, text: str, proc, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and text in path.read_text():
            return
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"snakemake ended early ({proc.returncode}):\n{err[-3000:]}")
        time.sleep(0.1)
    raise AssertionError(f"{text!r} did not appear in {path} within {timeout} s")


# ------------------------------------------------------------------ 1. invalid configuration
@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("alpha", 2.0, "models.v1_025_32.alpha: received 2.0; allowed: a number > 0 and <= 1"),
        ("resolution", 16, "models.v1_025_32.resolution: received 16; allowed: a number >= 32"),
        ("arch", "mobilenet_v3", "models.v1_025_32.arch: received 'mobilenet_v3'; allowed: one of"),
    ],
)
def test_invalid_config_fails_before_any_job_and_touches_nothing(tmp_path, key, value, expected):
    config = one_run_config(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["models"]["v1_025_32"][key] = value
    config.write_text(yaml.safe_dump(data))
    existing = tmp_path / RUN / "metrics.json"
    existing.parent.mkdir(parents=True)
    existing.write_text('{"kept": true}')
    before = existing.stat().st_mtime_ns
    result = run(tmp_path, timeout=120)
    assert result.returncode != 0
    assert expected in result.stderr
    assert not (tmp_path / "logs").exists()  # no job started
    assert existing.stat().st_mtime_ns == before and "kept" in existing.read_text()


# ------------------------------------------- 2. killed training: Ctrl+C to Snakemake, resume
@pytest.mark.slow
def test_interrupted_snakemake_resumes_training_from_last_epoch(tmp_path):
    # Enough epochs that the job is still training when Ctrl+C lands (a tiny epoch takes
    # well under a second, and Snakemake may take seconds to pass the interrupt on).
    epochs = 60
    one_run_config(tmp_path, epochs=epochs)
    target = f"{RUN}/metrics.json"
    proc = subprocess.Popen(
        snakemake_cmd(tmp_path, target),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # Ctrl+C's default action even where the tests were started with SIGINT ignored (a
        # shell's background job): an ignored SIGINT is inherited, and the run would finish.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for(tmp_path / RUN_LOG, f"epoch 1/{epochs}", proc)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C: SIGINT to the whole foreground group
    proc.communicate(timeout=120)
    assert not (tmp_path / target).exists()
    state = json.loads(
        (tmp_path / "resources/checkpoints/tiny/digits/v1_025_32/seed0/state.json").read_text()
    )
    assert state["epoch"] >= 1

    result = run(tmp_path, target, "--rerun-incomplete")
    assert result.returncode == 0, result.stderr[-3000:]
    log = (tmp_path / RUN_LOG).read_text()
    assert f"resuming from checkpoint after epoch {state['epoch']}/{epochs}" in log
    metrics = json.loads((tmp_path / target).read_text())
    assert metrics["resumed"] is True
    assert metrics["periods_trained_last_invocation"] == epochs - state["epoch"]
    history = (tmp_path / RUN / "history.csv").read_text().strip().splitlines()
    assert len(history) == 1 + epochs  # header and one row per epoch


# ------------------------------------------- 2b. Snakemake killed while the report renders
@pytest.mark.slow
def test_a_render_outliving_its_killed_snakemake_never_becomes_the_previous_record(tmp_path):
    """kill -9 to Snakemake alone once the report job has started: the render finishes on its
    own, but the record the next report compares with stays the last finished build's, so the
    report rebuilt as the troubleshooting page says lists the change made before the kill."""
    config = one_run_config(tmp_path, epochs=1, warmup_epochs=0)
    data = yaml.safe_load(config.read_text())
    data["experiments"]["tiny"]["seeds"] = [0]
    config.write_text(yaml.safe_dump(data))
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    report = tmp_path / "results/report/default"
    kept = (report / "previous/numbers.json").read_bytes()
    assert kept == (report / "numbers.json").read_bytes()

    data["recipes"]["quick"]["learning_rate"] = 0.02
    config.write_text(yaml.safe_dump(data))
    log = tmp_path / "logs/report/default.log"
    log.unlink()  # the render's first line in it says the job has started
    terminal = tmp_path / "terminal.txt"
    with terminal.open("w") as out:
        proc = subprocess.Popen(
            snakemake_cmd(tmp_path), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    wait_for(log, "mobilenet_repro from", proc, timeout=600)
    os.kill(proc.pid, signal.SIGKILL)  # Snakemake only: its render job lives on
    proc.wait()
    deadline = time.time() + 300
    while time.time() < deadline:  # until the orphaned render has ended
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    orphan = json.loads((report / "numbers.json").read_text())  # the render did finish
    assert orphan["runs"]["tiny/digits/v1_025_32/seed0"]["spec"]["recipe"]["learning_rate"] == 0.02
    assert (report / "previous/numbers.json").read_bytes() == kept

    plain = run(tmp_path, timeout=120)
    assert plain.returncode != 0
    assert "IncompleteFilesException" in plain.stderr + plain.stdout
    assert "--rerun-incomplete" in plain.stderr + plain.stdout
    early = run(tmp_path, "--rerun-incomplete", timeout=120)
    assert "Directory cannot be locked" in early.stderr + early.stdout
    assert run(tmp_path, "--unlock", timeout=120).returncode == 0
    again = run(tmp_path, "--rerun-incomplete")
    assert again.returncode == 0, again.stderr[-3000:]
    html = (report / "report.html").read_text()
    section = html[html.index(">Changes since the previous report</h") :]
    assert "recipe.learning_rate: 0.002 → 0.02" in section
    assert (report / "previous/numbers.json").read_bytes() == (report / "numbers.json").read_bytes()


# ------------------------------------------------------------------ 3. diverging training
@pytest.mark.slow
def test_diverging_run_fails_without_metrics_or_report(tmp_path):
    one_run_config(tmp_path, learning_rate=1e6, optimizer="rmsprop", warmup_epochs=0)
    result = run(tmp_path, "--keep-going")
    assert result.returncode != 0
    log = (tmp_path / RUN_LOG).read_text()
    assert "run tiny/digits/v1_025_32/seed0 diverged" in log and "in epoch 1" in log
    assert not (tmp_path / RUN / "metrics.json").exists()
    assert not (tmp_path / "results/report/default/report.html").exists()
    assert not (tmp_path / "results/derived/default/summary/runs.csv").exists()


# ------------------------------------------------------------------ 8. concurrent runs
@pytest.mark.slow
def test_overlapping_invocation_is_refused_disjoint_one_runs(tmp_path):
    one_run_config(tmp_path, epochs=20)  # long enough to overlap
    assert run(tmp_path, "results/data/digits/manifest.json").returncode == 0
    first_target = f"{RUN}/metrics.json"
    other_target = first_target.replace("seed0", "seed1")
    first = subprocess.Popen(
        snakemake_cmd(tmp_path, first_target),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(tmp_path / RUN_LOG, "epoch 1/20", first)
    overlapping = run(tmp_path, first_target, timeout=120)
    assert overlapping.returncode != 0
    assert "cannot be locked" in overlapping.stderr + overlapping.stdout
    disjoint = run(tmp_path, other_target)
    assert disjoint.returncode == 0, disjoint.stderr[-3000:]
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]
    for target in (first_target, other_target):
        assert json.loads((tmp_path / target).read_text())["epochs"] == 20
    # Both invocations kept their metadata: nothing is scheduled again.
    again = run(tmp_path, first_target, other_target, "--dry-run", timeout=120)
    assert "Nothing to be done" in again.stdout + again.stderr


# ------------------------------------------------------------------ 9. atomic outputs
def test_atomic_write_leaves_old_file_or_nothing(tmp_path):
    from mobilenet_repro.files import atomic_path, write_json

    target = tmp_path / "metrics.json"
    write_json({"a": 1}, target)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("killed")
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def _files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_save_that_fills_the_disk_leaves_its_folders_as_they_were(tmp_path, monkeypatch):
    """Keras writes the model under a name of its own suffix (.keras); a full disk midway
    leaves neither that file, nor the temporary one, nor the folders made for them."""
    import errno

    import keras
    import numpy as np

    from mobilenet_repro.files import atomic_path
    from mobilenet_repro.training.checkpoint import Checkpoint, save_model

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])

    def save_until_the_disk_is_full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PK\x03\x04" + bytes(1000))
        raise OSError(errno.ENOSPC, "No space left on device")

    run = tmp_path / "results" / "runs" / "r"
    run.mkdir(parents=True)
    (run / "history.csv").write_text("epoch\n1\n")
    ckpt = Checkpoint(tmp_path / "resources" / "checkpoints" / "r", "fp", "r")
    state = {"epoch": 1, "history": [], "train_seconds": 0.0, "resumed_from": []}
    ckpt.save(model, dict(state))
    before = _files(tmp_path)
    monkeypatch.setattr(keras.Model, "save", save_until_the_disk_is_full)
    with pytest.raises(OSError, match="No space left"):
        save_model(model, run / "model.keras")
    state.update(epoch=2, best={"period": 2, "val_accuracy": 0.5})
    with pytest.raises(OSError, match="No space left"):
        ckpt.save(model, state, best_weights=model.get_weights())
    fresh = Checkpoint(tmp_path / "resources" / "checkpoints" / "other", "fp", "other")
    with pytest.raises(OSError, match="No space left"):
        fresh.save(model, dict(state), best_weights=model.get_weights())
    with pytest.raises(OSError, match="No space left"), atomic_path(tmp_path / "a/b/c.npz") as tmp:
        np.save(str(tmp), np.zeros(3))  # numpy adds .npy
        raise OSError(errno.ENOSPC, "No space left on device")
    assert _files(tmp_path) == before
    assert ckpt.restore()[0]["epoch"] == 1  # the previous checkpoint is whole


# ------------------------------------------------------------------ 10. untrusted model files
def test_model_file_with_lambda_layer_is_refused(tmp_path):
    import keras

    from mobilenet_repro.training.checkpoint import load_trusted_model

    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "evil.keras")
    with pytest.raises(ValueError, match="refusing to load .*evil.keras.*Lambda"):
        load_trusted_model(tmp_path / "evil.keras")


# ------------------------------------------------------- 11. pretrained weights offline
def test_missing_imagenet_weights_offline_say_where_to_put_them(tmp_path, monkeypatch):
    import keras

    from mobilenet_repro.models.catalog import MobileNet, WeightsUnavailable

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://example.invalid/mobilenet.h5: offline")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    monkeypatch.setattr("keras.src.applications.mobilenet.file_utils.get_file", offline)
    with pytest.raises(WeightsUnavailable) as err:
        MobileNet(input_shape=(128, 128, 3), alpha=0.25, weights="imagenet", include_top=False)
    message = str(err.value)
    assert "https://example.invalid/mobilenet.h5" in message
    assert str(tmp_path / "keras" / "models") in message
    assert not any((tmp_path / "keras").rglob("*.h5"))  # nothing half-written in the cache


# ------------------------------------------- 12. foreseeable errors, messages in the terminal
def test_missing_local_data_path_fails_before_any_job(tmp_path):
    config = one_run_config(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["datasets"]["digits"] = {"source": "cifar10", "path": "no/such/cifar-10-python.tar.gz"}
    config.write_text(yaml.safe_dump(data))
    result = run(tmp_path, "--dry-run", timeout=120)
    assert result.returncode != 0
    terminal = result.stdout + result.stderr
    assert "datasets.digits.path: received 'no/such/cifar-10-python.tar.gz'" in terminal
    assert "nothing is there" in terminal
    assert not (tmp_path / "logs").exists() and not (tmp_path / "resources").exists()


def test_a_failing_jobs_message_reaches_the_terminal_without_tensorflow_noise(tmp_path):
    """A damaged cache whose source now gives other arrays than the manifest's: the train
    job's warning and then its error, naming both and what to do, are printed in Snakemake's
    terminal, not only in the log; TensorFlow's C++ start-up lines stay in the log."""
    one_run_config(tmp_path)
    npz = tmp_path / "resources/datasets/digits.npz"
    npz.parent.mkdir(parents=True)
    npz.write_bytes(b"PK\x03\x04 not a zip any more")
    manifest = tmp_path / "results/data/digits/manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"name": "digits", "arrays_sha256": "0" * 64}))
    result = run(tmp_path, f"{RUN}/metrics.json", timeout=300)
    assert result.returncode != 0
    terminal = result.stdout + result.stderr
    job = "rule train (experiment=tiny, dataset=digits, model=v1_025_32, replicate=seed0)"
    assert f"{job} warning" in terminal
    assert f"prepared data set {Path('resources/datasets/digits.npz')} cannot be read" in terminal
    assert f"{job} failed" in terminal and "its source now gives other arrays" in terminal
    assert f"--forcerun {Path('results/data/digits/manifest.json')}" in terminal
    assert f"full log: {RUN_LOG}" in terminal
    for noise in ("oneDNN", "cpu_feature_guard", "absl::InitializeLog"):
        assert noise not in terminal
    assert "Traceback" in (tmp_path / RUN_LOG).read_text()


@pytest.mark.slow
def test_a_damaged_prepared_data_set_keeps_every_finished_run(tmp_path):
    """Issue 26, case 2: truncating or deleting the cached arrays replans nothing (no finished
    run is deleted); the next job that needs them rebuilds them; new content still retrains."""
    config = one_run_config(tmp_path, epochs=1, warmup_epochs=0)
    target = f"{RUN}/metrics.json"
    first = run(tmp_path, target)
    assert first.returncode == 0, first.stderr[-3000:]
    finished = {p: p.read_bytes() for p in (tmp_path / RUN).iterdir()}
    npz = tmp_path / "resources/datasets/digits.npz"
    for damage in (lambda: os.truncate(npz, 100), npz.unlink):
        damage()
        again = run(tmp_path, target, timeout=120)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
        assert {p: p.read_bytes() for p in (tmp_path / RUN).iterdir()} == finished
    other = run(tmp_path, target.replace("seed0", "seed1"))
    assert other.returncode == 0, other.stderr[-3000:]
    terminal = other.stdout + other.stderr
    assert "prepared data set" in terminal and "is missing; preparing it again" in terminal
    assert npz.exists()
    assert {p: p.read_bytes() for p in (tmp_path / RUN).iterdir()} == finished
    data = yaml.safe_load(config.read_text())
    data["datasets"]["digits"]["max_per_class"] = 20  # other content: the runs retrain
    config.write_text(yaml.safe_dump(data))
    changed = run(tmp_path, target, "--dry-run", timeout=120)
    assert "prepare_dataset" in changed.stdout and "rule train" in changed.stdout


@pytest.mark.slow
def test_changing_only_a_models_label_retrains_nothing(tmp_path):
    config = one_run_config(tmp_path, epochs=1, warmup_epochs=0)
    target = f"{RUN}/metrics.json"
    first = run(tmp_path, target)
    assert first.returncode == 0, first.stderr[-3000:]
    data = yaml.safe_load(config.read_text())
    data["models"]["v1_025_32"]["label"] = "A new name for the report"
    config.write_text(yaml.safe_dump(data))
    again = run(tmp_path, target, "--dry-run", timeout=120)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    data["models"]["v1_025_32"]["alpha"] = 0.5  # a real change still retrains
    config.write_text(yaml.safe_dump(data))
    changed = run(tmp_path, target, "--dry-run", timeout=120)
    assert "train" in changed.stdout + changed.stderr
    assert "Nothing to be done" not in changed.stdout + changed.stderr


def run_as_job(log: Path, *statements: str) -> subprocess.CompletedProcess:
    """Python `statements` in a process whose standard error `jobs.log_to` sent to `log`."""
    code = ";".join(
        ("import os, sys", "sys.path.insert(0, sys.argv[1])",
         "from mobilenet_repro.jobs import log_to, warn",
         "log_to(sys.argv[2], job='rule x (a=1)')", *statements)
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "src"), str(log)], capture_output=True, text=True
    )


def test_job_start_sends_c_level_output_to_the_log_and_the_error_to_the_terminal(tmp_path):
    """What TensorFlow's C++ code writes to file descriptor 2 lands in the log; an uncaught
    error is in the log with its traceback and in the terminal as one short message."""
    log = tmp_path / "job.log"
    result = run_as_job(
        log,
        "os.write(2, b'I0000 cpu_feature_guard: noise from C++\\n')",
        "print('progress', file=sys.stderr)",
        "raise ValueError('datasets.d.path: the clear message')",
    )
    assert result.returncode == 1
    assert result.stderr == (
        "rule x (a=1) failed:\n    ValueError: datasets.d.path: the clear message\n"
        f"  (full log: {log})\n"
    )
    text = log.read_text()
    assert "cpu_feature_guard" in text and "progress" in text and "Traceback" in text


def test_a_jobs_warning_reaches_its_log_and_the_terminal(tmp_path):
    """Issue 26, case 5: a discarded checkpoint or a repaired cache is said in the terminal."""
    log = tmp_path / "job.log"
    result = run_as_job(log, "warn('checkpoint file c cannot be read; starting over')")
    assert result.returncode == 0
    assert result.stderr == (
        "rule x (a=1) warning:\n    checkpoint file c cannot be read; starting over\n"
        f"  (full log: {log})\n"
    )
    assert "WARNING: checkpoint file c cannot be read; starting over" in log.read_text()
