"""Training entry point: outputs, determinism per seed, divergence, resume after a kill."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT

from mobilenet_repro.data import save_dataset
from mobilenet_repro.data.prepare import prepare_dataset
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.training.backends import installed
from mobilenet_repro.training.callbacks import HISTORY_COLUMNS
from mobilenet_repro.validation import check_config


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    ds = prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 10}, "resources")
    save_dataset(ds, path)
    return path


def _spec(config, backend=None, **recipe):
    config["recipes"]["quick"].update(recipe)
    config = check_config(config)
    return run_spec(config, "tiny", "digits", "v1_025_32", 0, backend)


def _outputs(directory):
    return {
        "metrics": directory / "metrics.json",
        "history": directory / "history.csv",
        "schedule": directory / "lr_schedule.csv",
        "model": directory / "model.keras",
    }


def _train(spec, data, directory):
    from mobilenet_repro.training.loop import train_run

    return train_run(spec, data, _outputs(directory), directory / "ckpt", threads=1)


@pytest.mark.slow
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


@pytest.mark.slow
def test_checkpoint_cadence_changes_no_number(tiny_config, digits_npz, tmp_path):
    """Checkpointing at every validation or never (a long cadence): the same numbers."""
    from mobilenet_repro.training.loop import train_run

    spec = _spec(tiny_config, epochs=3)
    results = {}
    for every in (0.0, 1e9):
        d = tmp_path / str(every)
        results[every] = train_run(spec, digits_npz, _outputs(d), d / "ckpt", 1, None, every)
    often, never = results.values()
    assert often["timings"]["checkpoints"] > 0 and "checkpoints" not in never["timings"]
    for key in ("test_top1", "test_loss", "val_top1", "train_top1", "steps"):
        assert often[key] == never[key], key


@pytest.mark.slow
def test_weight_averaging_and_flipped_tests_are_measured_on_the_same_weights(
    tiny_config, digits_npz, tmp_path
):
    """With ema_decay, test_time_flip and test_time_translate the tested variant is the
    averaged weights on flipped and translated tests; the raw weights' and the other views'
    accuracies are kept beside it, and the raw variant is the test accuracy a run without
    any of these techniques reports."""
    plain = _train(_spec(tiny_config, epochs=3), digits_npz, tmp_path / "plain")
    both = _train(
        _spec(tiny_config, epochs=3, ema_decay=0.9, test_time_flip=True, test_time_translate=1),
        digits_npz,
        tmp_path / "both",
    )
    assert "test_top1_variants" not in plain
    variants = both["test_top1_variants"]
    views = ("", "_flip", "_translate", "_flip_translate")
    assert set(variants) == {w + v for w in ("raw", "ema") for v in views}
    tested = "ema_flip_translate"
    assert both["tested_variant"] == tested and both["test_top1"] == variants[tested]
    # Averaging changes no training step. (Keras's own metric is float32; ours counts.)
    assert variants["raw"] == pytest.approx(plain["test_top1"], abs=1e-7)
    # The saved model holds the average, not the last step's weights. (Accuracies cannot
    # show it: a three-epoch run on 100 digits may sit at chance either way.)
    import numpy as np

    from mobilenet_repro.training.checkpoint import load_trusted_model

    last, average = (
        load_trusted_model(tmp_path / run / "model.keras").get_weights()
        for run in ("plain", "both")
    )
    assert any(not np.allclose(a, b) for a, b in zip(last, average, strict=True))
    assert both["recipe"]["ema_decay"] == 0.9


def test_diverging_run_fails_and_publishes_nothing(tiny_config, digits_npz, tmp_path):
    from mobilenet_repro.training.callbacks import TrainingDiverged

    spec = _spec(tiny_config, learning_rate=1e6, optimizer="rmsprop", warmup_epochs=0)
    with pytest.raises(TrainingDiverged, match=r"tiny/digits/v1_025_32/seed0 diverged.*epoch 1"):
        _train(spec, digits_npz, tmp_path)
    assert not (tmp_path / "metrics.json").exists()


KILL_SCRIPT = """
import json, sys
from mobilenet_repro.runs import DEFAULT
from mobilenet_repro.training import backends
spec = json.loads(sys.argv[1])
backends.select(spec.get("backend", DEFAULT), 1)
from mobilenet_repro.training.loop import train_run
out = {k: sys.argv[2] + "/" + v for k, v in
       dict(metrics="metrics.json", history="history.csv", schedule="lr_schedule.csv",
            model="model.keras").items()}
train_run(spec, sys.argv[3], out, sys.argv[2] + "/ckpt", threads=1)
"""


WALL_TIMES = {"timings", "train_seconds", "images_per_second"}
RESUME_RECORDS = {"resumed", "resumed_from_epochs", "periods_trained_last_invocation"}


def _run_script(spec, directory, data, env, **kwargs):
    cmd = [sys.executable, "-c", KILL_SCRIPT, json.dumps(spec), str(directory), str(data)]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env, **kwargs)


# (recipe, the progress line after which the run is killed, what the resumed run says,
# periods left, backend)
KILLS = {
    "per epoch": ({"epochs": 3}, "epoch 1/3", "after epoch 1/3", 2),
    # The other backends checkpoint the same way (numpy input, batches.py).
    "per epoch, jax": ({"epochs": 3}, "epoch 1/3", "after epoch 1/3", 2, "jax"),
    "per epoch, torch": ({"epochs": 3}, "epoch 1/3", "after epoch 1/3", 2, "torch"),
    # The weights' moving average lives in the optimizer, so the checkpoint keeps it.
    "per epoch, weight averaging and flipped tests": (
        {"epochs": 3, "ema_decay": 0.9, "test_time_flip": True},
        "epoch 1/3",
        "after epoch 1/3",
        2,
    ),
    # Validation every 2 steps (epochs of 3 steps: checkpoints inside epochs) and early
    # stopping, whose best weights come back from the checkpoint.
    "every 2 steps, early stopping": (
        {"epochs": 8, "validate_every_steps": 2, "early_stopping_patience": 2},
        "step 2/",
        "(step 2/",
        None,
    ),
}


@pytest.mark.parametrize("case", KILLS)
@pytest.mark.slow
def test_killed_run_resumes_to_the_uninterrupted_runs_numbers(
    tiny_config, digits_npz, tmp_path, case
):
    """Killed with SIGKILL after its first checkpoint and resumed: metrics.json and
    history.csv are the uninterrupted run's (wall times aside), with dropout (V1's top) and
    augmentation on."""
    recipe, kill_after, resumed_says, periods_left, *backend = KILLS[case]
    if backend and not installed(backend[0]):
        pytest.skip(f"{backend[0]} is not installed (pip extra `{backend[0]}`)")
    spec = _spec(tiny_config, *backend, augment="flip_crop", **recipe)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), TF_CPP_MIN_LOG_LEVEL="2")
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    proc = _run_script(spec, killed, digits_npz, env)
    deadline = time.time() + 300
    for line in proc.stderr:
        if kill_after in line:
            os.kill(proc.pid, signal.SIGKILL)  # as a scheduler or the OOM killer would
            break
        assert time.time() < deadline
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert json.loads((killed / "ckpt" / "state.json").read_text())["epoch"] == 1
    assert not (killed / "metrics.json").exists()

    resumed = _run_script(spec, killed, digits_npz, env)
    reference = _run_script(spec, whole, digits_npz, env)
    assert resumed_says in resumed.communicate()[1]
    assert reference.communicate()[1] and reference.returncode == resumed.returncode == 0

    got, want = (json.loads((d / "metrics.json").read_text()) for d in (killed, whole))
    assert got["resumed"] is True
    assert got["periods_trained_last_invocation"] == (periods_left or want["steps"] // 2 - 1)
    assert want["resumed"] is False
    ignore = WALL_TIMES | RESUME_RECORDS
    assert {k: v for k, v in got.items() if k not in ignore} == {
        k: v for k, v in want.items() if k not in ignore
    }
    metrics = want
    got, want = (pd.read_csv(d / "history.csv") for d in (killed, whole))
    assert list(got.columns) == list(want.columns) == list(HISTORY_COLUMNS)
    if "validate_every_steps" not in recipe:
        assert list(got["epoch"]) == [1, 2, 3]
    else:
        assert list(got["step"]) == list(range(2, metrics["steps"] + 1, 2))
        best = got["val_accuracy"].idxmax()  # the first best: later ties are no improvement
        assert metrics["tested_step"] == got["step"][best]
        assert metrics["val_top1"] == got["val_accuracy"][best]
        assert metrics["stopped_early"] == (metrics["steps"] < metrics["max_steps"])
    pd.testing.assert_frame_equal(got.drop(columns="seconds"), want.drop(columns="seconds"))


def _corrupt_state(ckpt, fp):
    (ckpt / "state.json").write_text("{not json")
    (ckpt / "model.keras").write_bytes(b"PK")


def _truncated_model(ckpt, fp):
    state = {"epoch": 1, "history": [], "train_seconds": 1.0, "resumed_from": []}
    state.update(fingerprint=fp, seed_generators=[], model_file="model-epoch1.keras")
    (ckpt / "state.json").write_text(json.dumps(state))
    (ckpt / "model-epoch1.keras").write_bytes(b"PK\x03\x04" + b"\0" * 100)  # a zip cut short


def _model_file_missing(ckpt, fp):
    state = {"epoch": 1, "history": [], "train_seconds": 1.0, "resumed_from": []}
    state.update(fingerprint=fp, seed_generators=[], model_file="model-epoch1.keras")
    (ckpt / "state.json").write_text(json.dumps(state))


def _other_layout(ckpt, fp):
    (ckpt / "state.json").write_text(json.dumps([1, 2, 3]))


@pytest.mark.parametrize(
    "damage", [_corrupt_state, _truncated_model, _model_file_missing, _other_layout]
)
def test_unreadable_checkpoint_is_named_deleted_and_the_run_starts_over(tmp_path, capsys, damage):
    from mobilenet_repro.training.checkpoint import Checkpoint

    ckpt = tmp_path / "resources" / "checkpoints" / "run"
    ckpt.mkdir(parents=True)
    damage(ckpt, "f" * 16)
    state, model = Checkpoint(ckpt, "f" * 16, "tiny/digits/m/seed0").restore()
    assert model is None and state["epoch"] == 0 and state["history"] == []
    err = capsys.readouterr().err
    assert f"checkpoint file {ckpt}" in err and ("cannot be read" in err or "missing" in err)
    assert f"deleting the checkpoint {ckpt} and starting over" in err
    assert not ckpt.exists()
    if damage is _truncated_model:  # not Keras's "File not found" for a file that exists
        assert "cannot be read" in err and "not found" not in err


def test_run_with_a_garbage_checkpoint_trains_from_scratch(tiny_config, digits_npz, tmp_path):
    spec = _spec(tiny_config, epochs=1, warmup_epochs=0)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "state.json").write_text("\x00garbage")
    metrics = _train(spec, digits_npz, tmp_path)
    assert metrics["resumed"] is False and (tmp_path / "metrics.json").exists()


def test_checkpoint_restores_the_layers_random_state(tiny_config, tmp_path):
    """Dropout masks come from Keras seed generators; a checkpoint carries their state."""
    import keras

    from mobilenet_repro.training.checkpoint import Checkpoint, seed_generators
    from mobilenet_repro.training.steps import build_model

    spec = _spec(tiny_config)
    model = build_model(spec["model"], spec["recipe"], 10, 0.001)
    model.optimizer.build(model.trainable_variables)  # as training leaves it
    generators = seed_generators(model)
    assert generators  # V1's top has a dropout layer
    for g in generators:
        for _ in range(3):
            g.next()
    want = [keras.ops.convert_to_numpy(g.state.value).tolist() for g in generators]
    checkpoint = Checkpoint(tmp_path / "ckpt", "fp", "run")
    checkpoint.save(model, {"epoch": 1, "history": [], "train_seconds": 0.0, "resumed_from": []})
    state, restored = checkpoint.restore()
    assert state["epoch"] == 1 and "seed_generators" not in state
    got = [keras.ops.convert_to_numpy(g.state.value).tolist() for g in seed_generators(restored)]
    assert got == want

    state["epoch"] = 2
    checkpoint.save(model, state)  # then the model file is cut short, as by a full disk
    (model_file,) = checkpoint.directory.glob("model-*.keras")  # epoch 1's is gone
    assert model_file.name == "model-epoch2.keras"
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) // 2])
    state, restored = checkpoint.restore()
    assert restored is None and state["epoch"] == 0 and not checkpoint.directory.exists()


def _checkpoint_with_best(tmp_path):
    from mobilenet_repro.models.catalog import build_classifier
    from mobilenet_repro.training.checkpoint import Checkpoint

    model = build_classifier("mobilenet_v1", classes=10, resolution=32, alpha=0.25)
    checkpoint = Checkpoint(tmp_path / "ckpt", "fp", "run")
    state = {"epoch": 2, "history": [], "train_seconds": 0.0, "resumed_from": []}
    state["best"] = {"period": 1, "val_accuracy": 0.5}
    checkpoint.save(model, state, best_weights=model.get_weights())
    (best,) = checkpoint.directory.glob("best-*.npz")
    return checkpoint, best


def test_a_truncated_best_weights_file_is_named_and_the_run_starts_over(tmp_path, capsys):
    checkpoint, best = _checkpoint_with_best(tmp_path)
    best.write_bytes(best.read_bytes()[:100])  # truncate -s 100
    state, model = checkpoint.restore()
    assert model is None and state["epoch"] == 0 and not checkpoint.directory.exists()
    err = capsys.readouterr().err
    assert f"checkpoint file {best} cannot be read" in err and "starting over" in err


def test_best_weights_damaged_after_resuming_is_no_dead_end(tmp_path):
    from mobilenet_repro.training.checkpoint import CheckpointDamaged

    checkpoint, best = _checkpoint_with_best(tmp_path)
    state, model = checkpoint.restore()
    assert model is not None and len(checkpoint.restore_best(state)) == len(model.get_weights())
    best.write_bytes(best.read_bytes()[:100])
    with pytest.raises(CheckpointDamaged, match=f"{best} cannot be read.*trains this run from"):
        checkpoint.restore_best(state)
    assert not checkpoint.directory.exists()  # the next invocation starts over


def _without_half_the_optimizer_state(model_file):
    """The .keras archive rewritten with every other optimizer variable gone from its
    model.weights.h5, every other member unchanged."""
    import io
    import zipfile

    import h5py

    with zipfile.ZipFile(model_file) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    weights = io.BytesIO(members["model.weights.h5"])
    with h5py.File(weights, "r+") as h5:
        names = sorted(h5["optimizer/vars"], key=int)
        assert len(names) > 100  # Adam's moments of every weight and its step counter
        for name in names[::2]:
            del h5[f"optimizer/vars/{name}"]
    members["model.weights.h5"] = weights.getvalue()
    with zipfile.ZipFile(model_file, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _step_counter_behind(checkpoint, state):
    state["history"][-1]["step"] += 1  # the history says one more step than the optimizer took
    checkpoint.state_file.write_text(json.dumps(state))


@pytest.mark.parametrize("damage", ["half_the_optimizer_state", "step_counter"])
def test_a_checkpoint_without_its_whole_optimizer_state_starts_over(
    tiny_config, tmp_path, capsys, damage
):
    """Keras loads a model whose optimizer variables do not all match with a warning and a
    new optimizer (step 0, zero moments); resuming from it would change the run's numbers."""
    from mobilenet_repro.training.checkpoint import Checkpoint
    from mobilenet_repro.training.steps import build_model

    spec = _spec(tiny_config)
    model = build_model(spec["model"], spec["recipe"], 10, 0.001)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(6)
    checkpoint = Checkpoint(tmp_path / "ckpt", "fp", "tiny/digits/m/seed0")
    state = {"epoch": 3, "history": [{"epoch": 3, "step": 6}], "train_seconds": 1.0}
    checkpoint.save(model, {**state, "resumed_from": []})
    assert checkpoint.restore()[1] is not None  # undamaged, it resumes
    model_file = checkpoint.directory / "model-epoch3.keras"
    if damage == "half_the_optimizer_state":
        _without_half_the_optimizer_state(model_file)
        why = r"its optimizer state is incomplete: \d+ of the optimizer's \d+ variables saved"
    else:
        _step_counter_behind(checkpoint, json.loads(checkpoint.state_file.read_text()))
        why = "its optimizer's step counter is 6, the checkpoint's step 7"
    capsys.readouterr()
    state, restored = checkpoint.restore()
    assert restored is None and state["epoch"] == 0 and not checkpoint.directory.exists()
    err = capsys.readouterr().err
    assert re.search(
        f"checkpoint file {re.escape(str(model_file))} cannot be read \\({why}\\); deleting "
        f"the checkpoint {re.escape(str(checkpoint.directory))} and starting over",
        err,
    ), err


def test_the_published_model_loads_with_plain_keras(tiny_config, tmp_path):
    """model.keras loads where this package is not imported: the optimizer and schedule
    classes of training (FusedAdam, EpochCosine) stay in the checkpoints."""
    from mobilenet_repro.training.plan import RunPlan
    from mobilenet_repro.training.steps import build_model, write_outputs

    spec = _spec(tiny_config, schedule_per="epoch", warmup_epochs=0)
    run = RunPlan(spec, 10, train_images=100)
    model = build_model(spec["model"], spec["recipe"], 10, run.schedule)
    model.optimizer.build(model.trainable_variables)
    write_outputs(run, model, [], _outputs(tmp_path))
    load = (
        "import sys, keras\n"
        "model = keras.models.load_model(sys.argv[1])\n"
        "assert not [m for m in sys.modules if m.startswith('mobilenet_repro')]\n"
        "print(model.count_params())\n"
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    loaded = subprocess.run(
        [sys.executable, "-c", load, str(tmp_path / "model.keras")],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert int(loaded.stdout.split()[-1]) == model.count_params()


@pytest.mark.slow
def test_a_short_run_from_scratch_at_the_architectures_momentum_does_not_end_at_chance(
    tiny_config, tmp_path, capsys
):
    """76 steps at the CIFAR MobileNetV2's own momentum (0.99): validation during training
    sits at chance, training accuracy is high. The statistics recomputed at the end
    (precise_bn_batches, on by default) make the tested network learn; the stale validation
    curve is named in metrics.json and in the terminal (the job's standard error here)."""
    data = tmp_path / "digits.npz"
    ds = prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 60}, "resources")
    save_dataset(ds, data)
    tiny_config["recipes"]["quick"] |= {"bn_momentum": None, "epochs": 4}
    spec = run_spec(check_config(tiny_config), "tiny", "digits", "cifar_v2_025_32", 0)
    metrics = _train(spec, data, tmp_path / "run")
    bn = metrics["precise_bn"]
    assert bn["batches"] == 10 and bn["images"] == 320
    assert bn["val_top1_before"] < 0.15 and bn["val_top1_after"] > 0.8
    assert metrics["test_top1"] > 0.8 and metrics["train_top1"] > 0.9
    assert [w["kind"] for w in metrics["warnings"]] == ["validation_curve_stale"]
    assert "validation accuracy" in capsys.readouterr().err
