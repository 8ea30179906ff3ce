"""studies/tta_record.py on a tiny saved model and data set: each test-time view's top-1 on the
saved weights, the plain one equal to Keras's own accuracy on the same test split."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import load_study

from mobilenet_repro.data import save_dataset
from mobilenet_repro.data.prepare import prepare_dataset


def _tiny_run(folder, classes):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=4, activation="relu")(inputs)
    outputs = keras.layers.Dense(classes, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    metrics = {
        "run": "tiny/digits/tiny_model/seed0",
        "dataset": "digits",
        "model_config": {"arch": "mobilenet_v1", "resolution": 32, "weights": None},
        "test_top1": 0.5,
        "tested_variant": "raw_flip",
        "test_top1_variants": {"raw": 0.4, "raw_flip": 0.5},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return model


def test_every_view_is_measured_on_the_saved_weights(tmp_path):
    ds = prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 10}, "resources")
    run = tmp_path / "results/runs/tiny/digits/tiny_model/seed0"
    model = _tiny_run(run, ds.num_classes)
    with pytest.raises(SystemExit, match="pass the one the run trained on with --data"):
        load_study("tta_record").main(run, translate=1)
    # The run's own checkout's prepared data set, found without --data.
    (tmp_path / "resources/datasets").mkdir(parents=True)
    save_dataset(ds, tmp_path / "resources/datasets/digits.npz")
    record = load_study("tta_record").main(run, translate=1)
    assert set(record["test_top1"]) == {"plain", "flip", "translate", "flip_translate"}
    assert record["test_images"] == len(ds.splits["test"][1])
    assert record["recorded"]["test_top1_variants"]["raw_flip"] == 0.5
    assert json.loads((run / "tta.json").read_text()) == record
    # The plain view is Keras's own accuracy of the model on the pipeline's test batches.
    from mobilenet_repro.training.evaluation import batches

    stream = load_study("tta_record").test_stream(
        json.loads((run / "metrics.json").read_text()),
        tmp_path / "resources/datasets/digits.npz",
        ds.num_classes,
    )
    x, y = (np.concatenate(a) for a in zip(*batches(stream), strict=True))
    plain = float(np.mean(model.predict(x, verbose=0).argmax(1) == y.argmax(1)))
    assert record["test_top1"]["plain"] == plain
    assert len(set(record["test_top1"].values())) > 1  # the views differ on this model


def test_views_on_the_validation_split(tmp_path):
    """--split val measures the same views on the validation images, where a test-time
    variant may be chosen; a data set without that split is refused by name."""
    ds = prepare_dataset("digits", {"source": "sklearn_digits", "max_per_class": 10}, "resources")
    run = tmp_path / "results/runs/tiny/digits/tiny_model/seed0"
    _tiny_run(run, ds.num_classes)
    (tmp_path / "resources/datasets").mkdir(parents=True)
    save_dataset(ds, tmp_path / "resources/datasets/digits.npz")
    record = load_study("tta_record").main(run, translate=1, split="val")
    assert record["val_images"] == len(ds.splits["val"][1]) > 0
    assert set(record["val_top1"]) == {"plain", "flip", "translate", "flip_translate"}
    assert json.loads((run / "tta_val.json").read_text()) == record
    with pytest.raises(SystemExit, match="has no train_extra split"):
        load_study("tta_record").main(run, translate=1, split="train_extra")
