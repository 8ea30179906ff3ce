"""Frozen-base feature caching gives the numbers of training through the frozen base."""

from __future__ import annotations

import pandas as pd
import pytest

from mobilenet_repro.data import save_dataset
from mobilenet_repro.data.prepare import prepare_dataset
from mobilenet_repro.run_model import run_spec
from mobilenet_repro.training.features import cacheable
from mobilenet_repro.validation import check_config

pytestmark = pytest.mark.slow


def _outputs(directory):
    return {
        "metrics": directory / "metrics.json",
        "history": directory / "history.csv",
        "schedule": directory / "lr_schedule.csv",
        "model": directory / "model.keras",
    }


def test_a_head_on_cached_features_trains_as_through_the_frozen_base(
    tiny_config, tmp_path, monkeypatch, capsys
):
    import io

    import keras

    from mobilenet_repro import jobs
    from mobilenet_repro.models.catalog import build_base
    from mobilenet_repro.training import terminal
    from mobilenet_repro.training.checkpoint import load_trusted_model
    from mobilenet_repro.training.features import extract
    from mobilenet_repro.training.loop import train_run

    data = tmp_path / "digits.npz"
    save_dataset(
        prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 12}, "resources"),
        data,
    )
    # A "pretrained" base: any fixed weights file stands in for ImageNet's here.
    keras.utils.set_random_seed(7)
    weights = tmp_path / "base.weights.h5"
    build_base("mobilenet_v1", 32, 0.25, None).save_weights(weights)
    tiny_config["models"]["v1_025_32"] |= {"weights": str(weights), "dropout": 0.2}
    tiny_config["recipes"]["quick"] |= {"freeze_base": True, "augment": "none", "epochs": 3}
    spec = run_spec(check_config(tiny_config), "tiny", "digits", "v1_025_32", 0)
    assert cacheable(spec)

    through = train_run(spec, data, _outputs(tmp_path / "a"), tmp_path / "ca", threads=1)
    features = tmp_path / "features.npz"
    # Progress lines as a long extraction shows them: in the log and on the terminal.
    shown = io.StringIO()
    monkeypatch.setattr(jobs, "_terminal", {"handle": shown, "job": "rule x", "log": "l"})
    monkeypatch.setattr(terminal, "TERMINAL_EVERY_S", 0.0)
    capsys.readouterr()
    extract(spec["model"], data, "digits", features, name="v1_025_32")
    line = shown.getvalue().splitlines()[-1]
    assert line.startswith("[features digits/v1_025_32] test: ") and " img/s, ~" in line
    assert line in capsys.readouterr().err
    cached = train_run(
        spec, data, _outputs(tmp_path / "b"), tmp_path / "cb", threads=1, features_path=features
    )
    for key in ("test_top1", "val_top1", "train_top1"):
        assert cached[key] == pytest.approx(through[key], abs=1e-6), key
    assert cached["test_loss"] == pytest.approx(through["test_loss"], rel=1e-4)
    a, b = (pd.read_csv(tmp_path / d / "history.csv") for d in ("a", "b"))
    for column in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert b[column].to_numpy() == pytest.approx(a[column].to_numpy(), rel=1e-4), column
    # The saved model is the whole classifier (base and trained head), on images.
    assert cached["params"] == through["params"]
    model = load_trusted_model(tmp_path / "b" / "model.keras")
    assert tuple(model.input_shape[1:]) == (32, 32, 3)
    assert cached["features"]["path"] == str(features)
