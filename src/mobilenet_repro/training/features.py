"""Frozen-base feature caching: a transfer run's base computed once, its head trained on it.

With the base frozen (batch norm in inference mode) and the training images not augmented,
every epoch runs the same base over the same images: the base's pooled output for each image
is a constant. `extract` computes it once per (data set, model) into
resources/features/<dataset>/<model>.npz (the extract_features rule); a run of that model
then trains only its head on those vectors (`FeatureSet`, `cacheable`), with the head's
initial weights and dropout fixed by the run's seed (models.common.classifier_top), so the
numbers equal those of training through the base up to float rounding
(tests/training/test_features.py). The run's saved model is the full classifier, base and
trained head, so it classifies images like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPLITS = ("train", "val", "test")
BATCH = 64


def cacheable(spec: dict) -> bool:
    """Whether a run's base output is the same every epoch: pretrained and frozen, no
    augmentation, no flipped or translated test images, on TensorFlow (the tf.data input path)."""
    recipe, model = spec["recipe"], spec["model"]
    return bool(
        model.get("weights")
        and recipe.get("freeze_base")
        and recipe.get("augment", "none") == "none"
        and not recipe.get("test_time_flip")
        and not recipe.get("test_time_translate")
        and spec.get("backend", "tensorflow") == "tensorflow"
    )


@dataclass
class FeatureSet:
    """A data set's splits as a frozen base's pooled features (float32 N x D)."""

    splits: dict
    num_classes: int
    dim: int
    meta: dict

    @classmethod
    def load(cls, path: Path | str) -> FeatureSet:
        with np.load(path, allow_pickle=False) as z:
            splits = {s: (z[f"x_{s}"], z[f"y_{s}"]) for s in SPLITS}
            meta = {"classes": int(z["classes"]), "seconds": float(z["seconds"])}
        return cls(splits, meta["classes"], splits["train"][0].shape[1], meta)


def extract(model_cfg: dict, data, dataset: str, out: Path | str, name: str = "") -> dict:
    """Write the pooled features of every split through the model's frozen base; returns
    {"images", "seconds", "dim"}. `data`: the prepared .npz or a function returning it;
    `name`: the model's, for the progress lines (log and terminal, terminal.Pacer)."""
    import keras

    from mobilenet_repro.data.cache import read_dataset
    from mobilenet_repro.data.numpy_batches import preprocessing_fn
    from mobilenet_repro.data.tf_pipeline import make_dataset
    from mobilenet_repro.files import atomic_path
    from mobilenet_repro.models.catalog import ARCHITECTURES, build_base
    from mobilenet_repro.training.records import progress
    from mobilenet_repro.training.terminal import Pacer, rate_and_left

    start = time.perf_counter()
    ds = read_dataset(data, dataset)
    arch = model_cfg["arch"]
    base = build_base(arch, model_cfg["resolution"], model_cfg["alpha"], model_cfg["weights"])
    base.trainable = False
    inputs = keras.Input(shape=base.input_shape[1:])
    pooled = keras.layers.GlobalAveragePooling2D(name="avg_pool")(base(inputs, training=False))
    encoder = keras.Model(inputs, pooled)
    preprocess = preprocessing_fn(ARCHITECTURES[arch].imagenet_preprocess)
    arrays = {"classes": np.int64(ds.num_classes)}
    images, total = 0, sum(len(ds.splits[s][1]) for s in SPLITS)
    pacer, t_images = Pacer(), time.perf_counter()
    for split in SPLITS:
        x, y = ds.splits[split]
        stream = make_dataset(
            x, y, resolution=model_cfg["resolution"], batch_size=BATCH, preprocess=preprocess
        )
        parts = []
        for batch, _ in stream:
            parts.append(encoder(batch, training=False).numpy())
            if pacer.due():
                done = images + sum(len(p) for p in parts)
                line = (
                    f"[features {dataset}/{name or arch}] {split}: {done:,}/{total:,} images, "
                    f"{rate_and_left(done, total, time.perf_counter() - t_images, 'img')}"
                )
                progress(line)
                pacer.tell(line)
        dim = int(pooled.shape[-1])
        arrays[f"x_{split}"] = (
            np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, dim), np.float32)
        )
        arrays[f"y_{split}"] = np.asarray(y, dtype=np.int64)
        images += len(y)
    seconds = time.perf_counter() - start
    arrays["seconds"] = np.float64(seconds)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return {"images": images, "seconds": seconds, "dim": int(pooled.shape[-1])}
