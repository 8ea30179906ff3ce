"""studies/precise_bn_record.py on a tiny saved model and data set: the same weights tested with
the statistics as saved and recomputed on unaugmented and augmented training batches."""

from __future__ import annotations

import json

import numpy as np
from conftest import load_study

from mobilenet_repro.data import save_dataset
from mobilenet_repro.data.prepare import prepare_dataset


def _tiny_run(folder, classes):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=4)(inputs)
    x = keras.layers.BatchNormalization(momentum=0.99)(x)
    x = keras.layers.Activation("relu")(x)
    outputs = keras.layers.Dense(classes, activation="softmax")(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    metrics = {
        "run": "tiny/digits/tiny_model/seed0",
        "dataset": "digits",
        "seed": 0,
        "epochs": 2,
        "model_config": {"arch": "mobilenet_v1", "resolution": 32, "weights": None},
        "recipe": {"batch_size": 16, "augment": "flip_crop"},
        "val_top1": 0.1,
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return model


def test_the_same_weights_are_tested_with_three_sets_of_statistics(tmp_path):
    spec = {"source": "sklearn_digits", "max_per_class": 10, "split": {"val_fraction": 0.2}}
    ds = prepare_dataset("digits", spec, "resources")
    run = tmp_path / "results/runs/tiny/digits/tiny_model/seed0"
    model = _tiny_run(run, ds.num_classes)
    (tmp_path / "resources/datasets").mkdir(parents=True)
    save_dataset(ds, tmp_path / "resources/datasets/digits.npz")
    study = load_study("precise_bn_record")
    record = study.main(run, batches=3)
    assert set(record["top1"]) == {"saved", "unaugmented", "augmented"}
    assert record["images"] == {"val": len(ds.splits["val"][1]), "test": len(ds.splits["test"][1])}
    assert json.loads((run / "precise_bn.json").read_text()) == record
    # "saved" is the model file's own accuracy: the fresh model's statistics (mean 0, variance 1).
    from mobilenet_repro.training.evaluation import batches

    streams = study.streams(
        json.loads((run / "metrics.json").read_text()),
        tmp_path / "resources/datasets/digits.npz",
        ds.num_classes,
    )
    x, y = (np.concatenate(a) for a in zip(*batches(streams["val"]), strict=True))
    assert record["top1"]["saved"]["val"] == float(
        np.mean(model.predict(x, verbose=0).argmax(1) == y.argmax(1))
    )
    # The pass's batches: the same images, augmented in one and not in the other.
    (xa, _), (xu, _) = (
        next(iter(batches(streams["augmented"]))),
        next(iter(batches(streams["unaugmented"]))),
    )
    assert xa.shape == xu.shape and not np.array_equal(xa, xu)
    assert study.main(run, batches=3) == record  # a function of the seed
